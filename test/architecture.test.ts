/**
 * The layout is the architecture: no import cycles (type-only ones included), and every import
 * points down the layer order below, so a lower layer importing a higher one fails here. The
 * core never imports an adapter (front doors, discovery, simulator, load generator, CLI), and
 * adapters do not import each other except where the order says so.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
const CORE = ['pool', 'datalayer', 'scheduling', 'request', 'director', 'admission', 'config', 'telemetry', 'errors.ts'];
const ADAPTERS = ['frontends', 'discovery', 'sim', 'loadgen', 'cli', 'ha'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return files(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Imports of a file; with `typesToo`, type-only imports as well. */
function imports(file: string, typesToo = false): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'/gm)) {
    if (m[1] !== undefined && !typesToo) continue;
    out.push(resolve(dirname(file), m[2].replace(/\.js$/, '.ts')));
  }
  return out;
}

/**
 * The layer of each top-level folder or file of src/, lowest first. An import may point to a
 * lower layer, or within its own folder; core folders of one layer may use each other's
 * contracts (admission reads scheduling's SaturationDetector); adapters (layer 7) may not import
 * each other, except `ha` which elects over `discovery`'s Kubernetes client.
 */
const LAYERS: Record<string, number> = {
  util: 0,
  'errors.ts': 0,
  'warnings.ts': 0,
  config: 1,
  pool: 1,
  framework: 2,
  datalayer: 3,
  request: 3,
  scheduling: 4,
  admission: 4,
  telemetry: 4,
  director: 5,
  workload: 5,
  'switchboard.ts': 6,
  'builtin-plugins.ts': 6,
  'plugin-api.ts': 6,
  multipool: 6,
  discovery: 7,
  frontends: 7,
  ha: 7,
  sim: 7,
  loadgen: 7,
  cli: 8,
  'index.ts': 9,
  'cli.ts': 9,
};
const ADAPTER_EDGES = new Set(['ha -> discovery']);

/** Whether an import from top-level folder `a` to `b` breaks the layer order. */
function breaksLayers(a: string, b: string): boolean {
  if (a === b) return false;
  return LAYERS[b] > LAYERS[a] || (LAYERS[b] === LAYERS[a] && LAYERS[a] >= 7 && !ADAPTER_EDGES.has(`${a} -> ${b}`));
}

const all = files(SRC);
const graph = new Map(all.map((f) => [f, imports(f).filter((t) => all.includes(t))]));
const top = (f: string) => relative(SRC, f).split('/')[0];

/** Every import cycle of `g` (depth-first), as `a -> b -> a` paths relative to src/. */
function cyclesIn(g: Map<string, string[]>): string[] {
  const state = new Map<string, 1 | 2>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 2) return;
    if (state.get(f) === 1) {
      cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(SRC, p)).join(' -> '));
      return;
    }
    state.set(f, 1);
    for (const t of g.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, 2);
  };
  for (const f of g.keys()) visit(f, []);
  return cycles;
}

describe('architecture', () => {
  it('has no runtime import cycles', () => {
    expect(cyclesIn(graph)).toEqual([]);
  });

  it('has no import cycles, type-only imports included', () => {
    expect(cyclesIn(new Map(all.map((f) => [f, imports(f, true).filter((t) => all.includes(t))])))).toEqual([]);
  });

  it('every import points down the layer order', () => {
    const unknown = [...new Set(all.map(top))].filter((t) => LAYERS[t] === undefined);
    expect(unknown, 'every top-level folder has a layer').toEqual([]);
    const bad: string[] = [];
    for (const f of all) {
      const a = top(f);
      for (const t of imports(f, true).filter((x) => all.includes(x))) {
        const b = top(t);
        if (breaksLayers(a, b)) bad.push(`${relative(SRC, f)} (${a}, layer ${LAYERS[a]}) imports ${relative(SRC, t)} (${b}, layer ${LAYERS[b]})`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('the layer check refuses upward and sideways-adapter imports', () => {
    expect(breaksLayers('pool', 'scheduling')).toBe(true);
    expect(breaksLayers('admission', 'director')).toBe(true);
    expect(breaksLayers('sim', 'loadgen')).toBe(true);
    expect(breaksLayers('scheduling', 'pool')).toBe(false);
    expect(breaksLayers('admission', 'scheduling')).toBe(false);
    expect(breaksLayers('ha', 'discovery')).toBe(false);
  });

  it('keeps the core free of adapter imports', () => {
    const bad: string[] = [];
    for (const [f, targets] of graph) {
      if (!CORE.includes(top(f))) continue;
      for (const t of targets) if (ADAPTERS.includes(top(t))) bad.push(`${relative(SRC, f)} imports ${relative(SRC, t)}`);
    }
    expect(bad).toEqual([]);
  });
});

/**
 * One test layout: tests live under test/, mirroring src/ (a plugin `src/x/plugins/p/` is tested
 * in `test/x/plugins/p.test.ts` or a file its README names), so nothing shipped imports test code.
 */
describe('test layout', () => {
  const ROOT = resolve(SRC, '..');
  function walk(dir: string): string[] {
    return readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
  }

  it('keeps every test out of src/', () => {
    expect(walk(SRC).filter((p) => p.endsWith('.test.ts')).map((p) => relative(ROOT, p))).toEqual([]);
  });

  it('gives every plugin folder a README that names an existing test', () => {
    const problems: string[] = [];
    for (const sub of readdirSync(SRC)) {
      const plugins = join(SRC, sub, 'plugins');
      if (!statSync(join(SRC, sub)).isDirectory() || !exists(plugins)) continue;
      for (const name of readdirSync(plugins)) {
        const dir = join(plugins, name);
        if (!statSync(dir).isDirectory()) continue;
        const readme = join(dir, 'README.md');
        if (!exists(readme)) {
          problems.push(`${relative(ROOT, dir)}: no README.md`);
          continue;
        }
        const named = [...readFileSync(readme, 'utf8').matchAll(/`(test\/[^`]+\.test\.ts)`/g)].map((m) => m[1]);
        if (!named.some((t) => exists(join(ROOT, t)))) problems.push(`${relative(ROOT, readme)}: names no existing test under test/`);
      }
    }
    expect(problems).toEqual([]);
  });
});

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}
