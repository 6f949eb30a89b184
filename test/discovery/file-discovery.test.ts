/**
 * File discovery: the endpoints file is parsed like the config's `endpoints:`, reloaded on
 * change (in-place writes and atomic renames), and a reload never disturbs requests in flight.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { FileDiscovery, parseEndpointsFile } from '../../src/discovery/file-discovery.js';
import { createSwitchboard } from '../../src/switchboard.js';
import { routeCompletion } from '../support/requests.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function setup(initial: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sb-endpoints-'));
  const path = join(dir, 'endpoints.yaml');
  writeFileSync(path, initial);
  const core = createSwitchboard({ config: defaultConfig(), scrape: false, telemetry: false });
  const outcomes: string[] = [];
  const discovery = new FileDiscovery({ path, pool: core.pool, logger: silent, pollIntervalMs: 50, debounceMs: 20, onReload: (o) => outcomes.push(o) });
  cleanup.push(async () => {
    await discovery.close();
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, path, core, discovery, outcomes };
}

const keys = (core: ReturnType<typeof createSwitchboard>) => core.pool.endpoints().map((e) => e.key).sort();

describe('endpoints file syntax', () => {
  it('accepts a list or an endpoints: mapping, strings or objects, YAML or JSON', () => {
    expect(parseEndpointsFile('- 10.0.0.1:8000\n- {address: "::1", port: 8001, name: b, labels: {x: "y"}}\n', 'f')).toEqual([
      { address: '10.0.0.1', port: 8000 },
      { address: '::1', port: 8001, name: 'b', labels: { x: 'y' } },
    ]);
    expect(parseEndpointsFile('{"endpoints": ["[fd00::2]:9000"]}', 'f', 9100)).toEqual([{ address: 'fd00::2', port: 9000, metricsPort: 9100 }]);
    expect(parseEndpointsFile('', 'f')).toEqual([]);
  });

  it.each([
    ['- nonsense', /endpoints\[0\].*host:port/],
    ['- 10.0.0.1:70000', /host:port/],
    ['- {address: a, port: 1, extra: 2}', /unknown field/],
    ['- 10.0.0.1:8000\n- 10.0.0.1:8000', /duplicate endpoint/],
    ['pods: []', /unknown field "pods"/],
    ['endpoints: 3', /must be a list/],
    ['[unclosed', /not valid YAML/],
  ])('rejects %j with a message naming the problem', (text, re) => {
    expect(() => parseEndpointsFile(text, 'endpoints.yaml')).toThrow(re);
  });
});

describe('file discovery', () => {
  it('loads at start and marks the pool synced', async () => {
    const { core, discovery } = setup('- 127.0.0.1:8000\n- 127.0.0.1:8001\n');
    expect(core.pool.synced).toBe(false);
    await discovery.start();
    expect(core.pool.synced).toBe(true);
    expect(keys(core)).toEqual(['127.0.0.1:8000', '127.0.0.1:8001']);
  });

  it('refuses to start on an unusable file', async () => {
    const { discovery } = setup('- oops');
    await expect(discovery.start()).rejects.toMatchObject({ code: 'SB_ERR_CONFIG' });
  });

  it('reloads on change without disturbing requests in flight', async () => {
    const { path, core, discovery, outcomes } = setup('- 127.0.0.1:8000\n');
    await discovery.start();
    const first = await routeCompletion(core);
    const a = core.pool.get('127.0.0.1:8000')!;
    expect(core.pool.inflight[a.slot]).toBe(1);

    writeFileSync(path, '- 127.0.0.1:8000\n- 127.0.0.1:8001\n');
    await vi.waitFor(() => expect(core.pool.size).toBe(2));
    // Same endpoint object and slot: its in-flight request is still counted.
    expect(core.pool.get('127.0.0.1:8000')).toBe(a);
    expect(core.pool.inflight[a.slot]).toBe(1);
    first.lifecycle.finish('ok');
    expect(core.pool.inflight[a.slot]).toBe(0);

    const second = await routeCompletion(core);
    const target = core.pool.get(second.destination)!;
    const other = target.key === '127.0.0.1:8000' ? '127.0.0.1:8001' : '127.0.0.1:8000';
    writeFileSync(path, `- ${other}\n`);
    await vi.waitFor(() => expect(keys(core)).toEqual([other]));
    // The request to the endpoint that left finishes cleanly; the one that stayed is untouched.
    second.lifecycle.finish('ok');
    expect(core.pool.inflight[core.pool.get(other)!.slot]).toBe(0);
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThanOrEqual(2);
  });

  it('keeps the last good endpoints when the file turns invalid, and recovers', async () => {
    const { path, core, discovery, outcomes } = setup('- 127.0.0.1:8000\n');
    await discovery.start();
    writeFileSync(path, '- 127.0.0.1:8000\n- garbage\n');
    await vi.waitFor(() => expect(outcomes).toContain('invalid'));
    expect(keys(core)).toEqual(['127.0.0.1:8000']);
    expect(core.pool.synced).toBe(true);
    writeFileSync(path, '- 127.0.0.1:9000\n');
    await vi.waitFor(() => expect(keys(core)).toEqual(['127.0.0.1:9000']));
  });

  it('sees an atomic replace (write elsewhere, rename over)', async () => {
    const { dir, path, core, discovery } = setup('- 127.0.0.1:8000\n');
    await discovery.start();
    const tmp = join(dir, '.endpoints.yaml.tmp');
    writeFileSync(tmp, 'endpoints:\n- 127.0.0.1:8005\n');
    renameSync(tmp, path);
    await vi.waitFor(() => expect(keys(core)).toEqual(['127.0.0.1:8005']));
  });

  it('ignores a rewrite with identical content', async () => {
    const { path, discovery } = setup('- 127.0.0.1:8000\n');
    await discovery.start();
    writeFileSync(path, '- 127.0.0.1:8000\n');
    expect(discovery.reload()).toBe('unchanged');
  });
});
