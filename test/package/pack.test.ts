/**
 * The package entry exists: `npm pack` builds a tarball whose `exports` resolve, and a fresh
 * project that installs it can create a Switchboard in process, route a real request through
 * the proxy to a simulated pod, and run the `switchboard` binary.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir = '';
let tarball = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-pack-'));
  // prepack builds dist/ first, so the tarball never ships a stale build.
  const out = execFileSync(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const info = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(dir, info[0].filename);
  const app = join(dir, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // The dependencies are in npm's cache after `npm ci`; --prefer-offline keeps this quick.
  execFileSync(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', tarball], { cwd: app, stdio: 'ignore' });
}, 240_000);

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships dist, the protos and the entry points, without tests', () => {
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    // bench/families/default.yaml: the family `switchboard bench --generate` draws from by default.
    for (const f of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/plugin-api.js', 'package/dist/cli.js', 'package/package.json', 'package/bench/families/default.yaml'])
      expect(listing).toContain(f);
    expect(listing.some((f) => f.startsWith('package/proto/envoy/'))).toBe(true);
    expect(listing.some((f) => f.endsWith('.test.js'))).toBe(false);
  });

  it('imports in a fresh project and routes a request in process', () => {
    const app = join(dir, 'app');
    writeFileSync(
      join(app, 'main.mjs'),
      `import { createSwitchboard, defaultConfig, startProxyServer, startSimFleet, parseConfig, isSwitchboardError, VERSION } from 'switchboard';
import { Candidates, PluginRegistry, registerBuiltinPlugins } from 'switchboard/plugin-api';
const fleet = await startSimFleet({ pods: 2 });
const core = createSwitchboard({ config: defaultConfig(), endpoints: fleet.pods.map((p) => ({ address: p.address, port: p.port })), scrape: false, telemetry: false });
const proxy = await startProxyServer({ director: core.director, pool: core.pool, port: 0, host: '127.0.0.1' });
const res = await fetch(proxy.url + '/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: fleet.modelName, prompt: 'hello', max_tokens: 4 }) });
const body = await res.json();
let refused = false;
try { parseConfig('surprise: 1', 'x.yaml'); } catch (err) { refused = isSwitchboardError(err) && /surprise: unknown field/.test(err.message); }
const types = registerBuiltinPlugins(new PluginRegistry()).types();
console.log(JSON.stringify({ status: res.status, object: body.object, refused, version: VERSION, hasQueueScorer: types.includes('queue-scorer'), candidates: new Candidates(4).slots.length }));
await proxy.close(); await core.close(); await fleet.close();
`,
    );
    const out = JSON.parse(execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 })) as Record<string, unknown>;
    expect(out).toEqual({ status: 200, object: 'text_completion', refused: true, version: (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version, hasQueueScorer: true, candidates: 4 });
  }, 90_000);

  it('installs the switchboard binary', () => {
    const bin = join(dir, 'app', 'node_modules', '.bin', 'switchboard');
    const out = execFileSync(bin, ['serve', '--print-config'], { encoding: 'utf8', timeout: 60_000 });
    expect(out).toContain('kind: EndpointPickerConfig');
    expect(out).toContain('pluginRef: queue-scorer');
  }, 90_000);

  it('type-checks against the shipped declarations', () => {
    const app = join(dir, 'app');
    writeFileSync(join(app, 'check.ts'), `import { createSwitchboard, type EndpointPickerConfig } from 'switchboard';\nimport type { Scorer } from 'switchboard/plugin-api';\nconst s: Scorer = { typedName: { type: 't', name: 't' }, score: () => undefined };\nconst c: EndpointPickerConfig | null = null;\nexport { s, c, createSwitchboard };\n`);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] }, files: ['check.ts'] }));
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { encoding: 'utf8', stdio: 'pipe' });
  }, 90_000);
});
