/**
 * The container image, without a container engine: the Dockerfile's structure is checked, and
 * the RUN lines of its `deps` and `build` stages run as ordinary commands in temp folders laid
 * out as the COPY lines say (with the context filtered by .dockerignore). The runtime layout the
 * final stage assembles must then start the CLI with production dependencies only.
 */
import { execFileSync, execSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | null;
  steps: Instruction[];
}

/** Parses a Dockerfile into stages (line continuations joined, comments dropped, ARGs substituted). */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (m === null) throw new Error(`unparsable Dockerfile line: ${line}`);
    const op = m[1].toUpperCase();
    const rest = m[2].replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? '');
    if (op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args.set(k, v ?? '');
    } else if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)!;
      stages.push({ from: f[1], name: f[2] ?? null, steps: [] });
    } else stages.at(-1)!.steps.push({ op, args: rest });
  }
  return stages;
}

/** .dockerignore semantics for the patterns we use: in order, last match wins, `!` re-includes. */
function contextFiles(): string[] {
  const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const glob = negate ? l.slice(1) : l;
      const re = glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '\u0000')
        .replace(/\*\*/g, '\u0001')
        .replace(/\*/g, '[^/]*')
        .replace(/\u0000/g, '(?:.*/)?')
        .replace(/\u0001/g, '.*');
      return { negate, re: new RegExp(`^${re}$`) };
    });
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(join(ROOT, dir))) {
      if (f === 'node_modules' || f === '.git') continue;
      const rel = dir === '' ? f : `${dir}/${f}`;
      if (statSync(join(ROOT, rel)).isDirectory()) walk(rel);
      else {
        let included = true;
        for (const r of rules) if (r.re.test(rel)) included = r.negate;
        if (included) out.push(rel);
      }
    }
  };
  walk('');
  return out.sort();
}

/**
 * The runtime import graph of `entry`: every JS file reached through static imports, re-exports,
 * side-effect imports and literal dynamic `import()`s, the bare specifiers they name, and the
 * files named by `new URL('<relative>', import.meta.url)`.
 */
function importGraph(entry: string): { files: Set<string>; bare: Map<string, string>; assets: Map<string, string>; missing: string[] } {
  const files = new Set<string>();
  const bare = new Map<string, string>();
  const assets = new Map<string, string>();
  const missing: string[] = [];
  const queue = [entry];
  const specifiers = /(?:\bimport|\bexport)\s*(?:[\w*${}\s,]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(specifiers)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (!existsSync(target)) missing.push(`${relative(dirname(entry), file)} imports ${spec}`);
        else queue.push(target);
      } else bare.set(spec, file);
    }
    for (const m of text.matchAll(/new URL\(\s*['"](\.[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g)) assets.set(resolve(dirname(file), m[1]), file);
  }
  return { files, bare, assets, missing };
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or null for a Node builtin. */
function packageOf(spec: string): string | null {
  if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])) return null;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const byName = (n: string) => stages.find((s) => s.name === n)!;
const final = stages.at(-1)!;
const tmp = mkdtempSync(join(tmpdir(), 'sb-image-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('Dockerfile structure', () => {
  it('builds in stages and runs on a distroless non-root runtime', () => {
    expect(stages.map((s) => s.name)).toEqual(['deps', 'build', null]);
    // The build stages are pinned by digest (`image:tag@sha256:<64 hex>`); the runtime may be.
    expect(byName('deps').from).toMatch(/^node:\d+-bookworm-slim@sha256:[0-9a-f]{64}$/);
    expect(byName('build').from).toBe(byName('deps').from);
    expect(final.from).toMatch(/^gcr\.io\/distroless\/nodejs\d+-debian12:nonroot(@sha256:[0-9a-f]{64})?$/);
    const user = final.steps.filter((s) => s.op === 'USER').at(-1)!.args;
    expect(user).toMatch(/^\d+:\d+$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
  });

  it('installs from the lockfile, production dependencies only in the runtime', () => {
    const runs = stages.flatMap((s) => s.steps.filter((i) => i.op === 'RUN').map((i) => i.args));
    for (const r of runs) expect(r).not.toMatch(/npm (install|i)\b/);
    expect(byName('deps').steps.find((i) => i.op === 'RUN')!.args).toMatch(/npm ci .*--omit=dev/);
    const copies = final.steps.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toEqual(['--from=deps /app/node_modules ./node_modules', '--from=build /app/out ./']);
  });

  it('exposes ext_proc, health, metrics and proxy ports, and runs the CLI', () => {
    const ports = final.steps.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    expect(ports.sort()).toEqual(['8080', '9002', '9003', '9090']);
    expect(JSON.parse(final.steps.find((i) => i.op === 'ENTRYPOINT')!.args)).toEqual(['/nodejs/bin/node', '/app/dist/cli.js']);
    expect(JSON.parse(final.steps.find((i) => i.op === 'CMD')!.args)).toEqual(['serve']);
  });

  it('sends only sources, manifests, protos and the default workload family as the build context', () => {
    const files = contextFiles();
    expect(files).toContain('package.json');
    expect(files).toContain('package-lock.json');
    expect(files).toContain('src/cli.ts');
    expect(files.filter((f) => !/^(src\/|proto\/|package(-lock)?\.json$|tsconfig(\.build)?\.json$|bench\/families\/default\.yaml$)/.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.test.ts'))).toEqual([]);
  });
});

describe('Dockerfile build stages as ordinary commands', () => {
  /** Runs one stage: COPY from the context, RUN in its folder. `npm ci` with dev deps links the checkout's. */
  function runStage(stage: Stage): string {
    const dir = join(tmp, stage.name!);
    mkdirSync(dir, { recursive: true });
    const context = contextFiles();
    for (const step of stage.steps) {
      if (step.op === 'COPY') {
        const parts = step.args.split(/\s+/);
        const dest = parts.pop()!;
        for (const src of parts) {
          const matched = src === '.' ? context : context.filter((f) => f === src || f.startsWith(`${src}/`));
          expect(matched.length, `COPY ${src} matches nothing in the context`).toBeGreaterThan(0);
          for (const f of matched) {
            const target = src === '.' || dest.endsWith('/') && parts.length > 1 ? join(dir, dest, src === '.' ? f : f.slice(src.lastIndexOf('/') + 1)) : join(dir, dest, relative(src, f));
            mkdirSync(dirname(target), { recursive: true });
            cpSync(join(ROOT, f), target);
          }
        }
      } else if (step.op === 'RUN') {
        // The dev install is the command CI ran in the checkout with the same lockfile: reuse it.
        if (/^npm ci\b/.test(step.args) && !step.args.includes('--omit=dev')) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
        else execSync(step.args.replace(/^npm ci\b/, 'npm ci --prefer-offline'), { cwd: dir, stdio: 'pipe', shell: '/bin/sh', timeout: 240_000 });
      }
    }
    return dir;
  }

  it('produces a runtime that starts the CLI with production dependencies only', () => {
    const deps = runStage(byName('deps'));
    const build = runStage(byName('build'));
    const runtime = join(tmp, 'runtime');
    mkdirSync(runtime);
    symlinkSync(join(deps, 'node_modules'), join(runtime, 'node_modules'), 'dir');
    cpSync(join(build, 'out'), runtime, { recursive: true });
    // No package the lockfile marks dev-only (a dev dependency a production one also needs is fine).
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const installed = readdirSync(join(runtime, 'node_modules'))
      .filter((n) => !n.startsWith('.'))
      .flatMap((n) => (n.startsWith('@') ? readdirSync(join(runtime, 'node_modules', n)).map((m) => `${n}/${m}`) : [n]));
    expect(installed.filter((n) => lock.packages[`node_modules/${n}`]?.dev === true)).toEqual([]);
    expect(installed).not.toContain('vitest');
    expect(installed).not.toContain('typescript');
    const cli = join(runtime, 'dist', 'cli.js');

    // Everything cli.js reaches at runtime is in the image: relative imports and assets among the
    // copied files, bare imports from production dependencies (a devDependency is not installed).
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const graph = importGraph(cli);
    expect(graph.missing).toEqual([]);
    expect(graph.files.size).toBeGreaterThan(50);
    for (const f of graph.files) expect(f.startsWith(runtime + '/'), f).toBe(true);
    // The dynamic imports of the sub-commands are followed too.
    for (const sub of ['sim.js', 'load.js', 'bench.js']) expect(graph.files, sub).toContain(join(runtime, 'dist', 'cli', sub));
    const packages = new Set<string>();
    for (const [spec, from] of graph.bare) {
      const p = packageOf(spec);
      if (p === null) continue;
      packages.add(p);
      expect(Object.keys(pkg.dependencies), `${relative(runtime, from)} imports ${spec}`).toContain(p);
      expect(existsSync(join(runtime, 'node_modules', p, 'package.json')), `${p} installed in the runtime`).toBe(true);
    }
    expect(packages.size).toBeGreaterThan(3);
    for (const [asset, from] of graph.assets) expect(existsSync(asset), `${relative(runtime, from)} reads ${relative(runtime, asset)}`).toBe(true);
    expect(existsSync(join(runtime, 'proto')), 'proto/ for the gRPC services').toBe(true);

    expect(execFileSync(process.execPath, [cli, '--version'], { encoding: 'utf8' })).toMatch(/^switchboard \S+/);
    expect(execFileSync(process.execPath, [cli, 'serve', '--help'], { encoding: 'utf8' })).toContain('--pool-name');
    expect(execFileSync(process.execPath, [cli, 'serve', '--print-config'], { encoding: 'utf8' })).toContain('kind: EndpointPickerConfig');
  }, 300_000);
});
