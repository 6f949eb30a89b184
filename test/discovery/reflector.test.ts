/**
 * The list/watch loop against a real HTTP server speaking the API server's wire protocol, which
 * drops connections, compacts history, sends garbage and stalls on purpose.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KubeClient } from '../../src/discovery/kubernetes/client.js';
import { Reflector, type ReflectorOptions } from '../../src/discovery/kubernetes/reflector.js';
import { FakeApiServer, podObject } from '../support/fake-apiserver.js';
import { FAST, recordingHooks, testConnection } from '../support/kube.js';

const PODS = '/api/v1/namespaces/default/pods';
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Slim {
  ip: string;
}

async function setup(opts: Partial<ReflectorOptions<Slim>> = {}) {
  const api = await new FakeApiServer().start();
  api.serve(PODS, 'PodList', 'v1');
  const client = new KubeClient(testConnection(api.url));
  const hooks = recordingHooks();
  const changes: string[] = [];
  const unavailable: number[] = [];
  const r = new Reflector<Slim>({
    client,
    resource: 'pods',
    path: PODS,
    parse: (o) => {
      const ip = (o.status as { podIP?: unknown } | undefined)?.podIP;
      return typeof ip === 'string' ? { ip } : null;
    },
    onChange: (_r, reason) => changes.push(reason),
    onUnavailable: (_r, st) => unavailable.push(st),
    hooks,
    ...FAST,
    ...opts,
  });
  cleanup.push(async () => {
    await r.stop();
    await client.close();
    await api.close();
  });
  return { api, client, hooks, changes, unavailable, r };
}

const ips = (r: Reflector<Slim>) => Object.fromEntries([...r.store].map(([k, v]) => [k, v.ip]));

describe('reflector', () => {
  it('lists, then watches from the list resourceVersion with bookmarks, applying every event', async () => {
    const { api, r, changes } = await setup();
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    r.start();
    await vi.waitFor(() => expect(r.synced).toBe(true));
    expect(ips(r)).toEqual({ a: '10.0.0.1' });
    await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(1));
    const w = api.watchRequests(PODS)[0];
    expect(w.query.get('resourceVersion')).toBe(String(api.resourceVersion));
    expect(w.query.get('allowWatchBookmarks')).toBe('true');
    expect(Number(w.query.get('timeoutSeconds'))).toBeGreaterThanOrEqual(300);
    expect(w.authorization).toBe('Bearer test-token');

    api.put(PODS, podObject('b', { ip: '10.0.0.2' }));
    api.put(PODS, podObject('a', { ip: '10.0.0.3' }));
    api.remove(PODS, 'b');
    await vi.waitFor(() => expect(ips(r)).toEqual({ a: '10.0.0.3' }));
    expect(changes).toEqual(['list', 'event', 'event', 'event']);
    expect(r.resourceVersion).toBe(String(api.resourceVersion));
  });

  it('reads every page of a paginated list', async () => {
    const { api, r } = await setup({ pageSize: 2 });
    for (let i = 0; i < 5; i++) api.put(PODS, podObject(`p${i}`, { ip: `10.0.0.${i}` }));
    r.start();
    await vi.waitFor(() => expect(r.synced).toBe(true));
    expect(Object.keys(ips(r)).sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    expect(api.listRequests(PODS).map((p) => p.query.get('continue'))).toEqual([null, '2', '4']);
  });

  it('falls back to one full list when the continue token expires', async () => {
    const { api, r, hooks } = await setup({ pageSize: 2 });
    for (let i = 0; i < 5; i++) api.put(PODS, podObject(`p${i}`, { ip: `10.0.0.${i}` }));
    api.expireContinue = true;
    r.start();
    await vi.waitFor(() => expect(r.synced).toBe(true));
    expect(Object.keys(ips(r)).sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    const lists = api.listRequests(PODS);
    expect(lists.map((p) => [p.query.get('limit'), p.query.get('continue')])).toEqual([
      ['2', null],
      ['2', '2'],
      [null, null],
    ]);
    expect(hooks.counts.get('pods:continue_expired')).toBe(1);
  });

  it('resumes a dropped watch from the last resourceVersion without losing events', async () => {
    const { api, r, hooks } = await setup();
    r.start();
    await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(1));
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    await vi.waitFor(() => expect(r.store.size).toBe(1));
    const seen = r.resourceVersion;
    api.dropWatches();
    // Changes while disconnected come back on the next watch.
    api.put(PODS, podObject('b', { ip: '10.0.0.2' }));
    api.remove(PODS, 'a');
    await vi.waitFor(() => expect(ips(r)).toEqual({ b: '10.0.0.2' }));
    const watches = api.watchRequests(PODS);
    expect(watches.length).toBeGreaterThanOrEqual(2);
    expect(watches[1].query.get('resourceVersion')).toBe(seen);
    expect(api.listRequests(PODS)).toHaveLength(1);
    expect(hooks.counts.get('pods:watch_dropped')).toBeGreaterThanOrEqual(1);
  });

  it('moves the resume point on bookmarks', async () => {
    const { api, r, changes } = await setup();
    r.start();
    await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(1));
    api.tick();
    api.tick();
    api.bookmark(PODS);
    await vi.waitFor(() => expect(r.resourceVersion).toBe(String(api.resourceVersion)));
    expect(changes).toEqual(['list']);
    api.endWatches();
    await vi.waitFor(() => expect(api.watchRequests(PODS).length).toBe(2));
    expect(api.watchRequests(PODS)[1].query.get('resourceVersion')).toBe(String(api.resourceVersion));
  });

  it.each(['event', 'status'] as const)('re-lists after 410 Gone delivered as %s, dropping objects deleted meanwhile', async (goneAs) => {
    const { api, r, hooks } = await setup();
    api.goneAs = goneAs;
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    api.put(PODS, podObject('b', { ip: '10.0.0.2' }));
    r.start();
    await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(1));
    api.dropWatches();
    // While we are away, b goes and c comes, and the server compacts its history.
    api.stalled = true;
    api.remove(PODS, 'b');
    api.put(PODS, podObject('c', { ip: '10.0.0.3' }));
    api.compact();
    api.stalled = false;
    await vi.waitFor(() => expect(ips(r)).toEqual({ a: '10.0.0.1', c: '10.0.0.3' }));
    expect(api.listRequests(PODS)).toHaveLength(2);
    expect(hooks.counts.get('pods:gone')).toBe(1);
    expect(hooks.counts.get('pods:relist')).toBe(1);
  });

  it('counts a garbage line and resumes from the last good resourceVersion', async () => {
    const { api, r, hooks } = await setup();
    r.start();
    await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(1));
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    await vi.waitFor(() => expect(r.store.size).toBe(1));
    const good = r.resourceVersion;
    api.sendRaw(PODS, '{"type":"ADDED","object":{"metadata":{"name":"x"\n');
    await vi.waitFor(() => expect(api.watchRequests(PODS).length).toBe(2));
    expect(api.watchRequests(PODS)[1].query.get('resourceVersion')).toBe(good);
    expect(hooks.malformedSeen[0]).toContain('watch line');
    expect(ips(r)).toEqual({ a: '10.0.0.1' });
    // Events that do not parse into what we keep are counted and not stored.
    api.put(PODS, podObject('no-ip', { ip: null }));
    api.put(PODS, podObject('b', { ip: '10.0.0.2' }));
    await vi.waitFor(() => expect(ips(r)).toEqual({ a: '10.0.0.1', b: '10.0.0.2' }));
    expect(hooks.malformedSeen.some((m) => m.includes('no-ip'))).toBe(true);
  });

  it('decodes events split into one-byte chunks', async () => {
    const { api, r } = await setup();
    api.byteChunks = true;
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    r.start();
    await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(1));
    api.put(PODS, podObject('b', { ip: '10.0.0.2', labels: { app: 'vllm', note: 'ünïcödé' } }));
    api.put(PODS, podObject('c', { ip: '10.0.0.3' }));
    await vi.waitFor(() => expect(ips(r)).toEqual({ a: '10.0.0.1', b: '10.0.0.2', c: '10.0.0.3' }));
  });

  it('treats a silent stream as dead after the idle timeout and re-watches', async () => {
    const { api, r, hooks } = await setup({ idleTimeoutMs: 150 });
    r.start();
    await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(1));
    api.stalled = true;
    await vi.waitFor(() => expect(api.watchRequests(PODS).length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    expect(hooks.counts.get('pods:watch_dropped')).toBeGreaterThanOrEqual(1);
    api.stalled = false;
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    await vi.waitFor(() => expect(r.store.size).toBe(1));
  });

  it('retries failed lists and watches with backoff, keeping the resume point', async () => {
    const { api, r, hooks } = await setup();
    api.failures.push({ match: (q) => q.method === 'GET' && !q.query.has('watch'), status: 500, times: 2 });
    api.failures.push({ match: (q) => q.query.has('watch'), status: 429, times: 2 });
    r.start();
    await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(1));
    expect(hooks.counts.get('pods:list_failed')).toBe(2);
    expect(hooks.counts.get('pods:watch_failed')).toBe(2);
    const watches = api.watchRequests(PODS);
    expect(new Set(watches.map((w) => w.query.get('resourceVersion'))).size).toBe(1);
    expect(api.listRequests(PODS)).toHaveLength(3);
  });

  it('backs off, with growing delays, from a server that closes every watch at once', async () => {
    const { api, r } = await setup({ backoff: { initialMs: 40, maxMs: 1000 }, rng: () => 1 });
    api.closeWatchesImmediately = true;
    r.start();
    await vi.waitFor(() => expect(api.watchRequests(PODS).length).toBeGreaterThanOrEqual(4), { timeout: 5000 });
    await r.stop();
    const at = api.watchRequests(PODS).map((q) => q.at);
    // With rng = 1 each delay is the full base: 40, 80, 160 ms. Timers never fire early, so the
    // gaps are at least that (less 1 ms of timer rounding): no tight loop.
    for (let i = 1; i < Math.min(at.length, 4); i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(40 * 2 ** (i - 1) - 1);
  });

  it('reports a collection that is not served once, retries, and syncs when it appears', async () => {
    const { api, r, unavailable, hooks } = await setup();
    const MISSING = '/apis/inference.networking.x-k8s.io/v1alpha2/namespaces/default/inferenceobjectives';
    const r2 = new Reflector<Slim>({ ...r.opts, path: MISSING, resource: 'inferenceobjectives' });
    cleanup.push(() => r2.stop());
    r2.start();
    await vi.waitFor(() => expect(api.listRequests(MISSING).length).toBeGreaterThanOrEqual(3));
    expect(unavailable).toEqual([404]);
    expect(r2.unavailable).toBe(404);
    expect(r2.synced).toBe(false);
    expect(hooks.counts.get('inferenceobjectives:not_found')).toBeGreaterThanOrEqual(3);
    api.serve(MISSING, 'InferenceObjectiveList', 'inference.networking.x-k8s.io/v1alpha2');
    await vi.waitFor(() => expect(r2.synced).toBe(true));
    expect(r2.unavailable).toBeNull();
  });

  it('reports 403 (RBAC) as unavailable', async () => {
    const { api, r, unavailable } = await setup();
    api.forbidden.add(PODS);
    r.start();
    await vi.waitFor(() => expect(unavailable).toEqual([403]));
    api.forbidden.delete(PODS);
    await vi.waitFor(() => expect(r.synced).toBe(true));
  });

  it('re-lists when a watched collection disappears (CRD deleted) and recovers', async () => {
    const { api, r, unavailable } = await setup();
    r.start();
    await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(1));
    api.unserve(PODS);
    await vi.waitFor(() => expect(unavailable).toEqual([404]));
    api.serve(PODS, 'PodList', 'v1');
    api.put(PODS, podObject('z', { ip: '10.0.0.9' }));
    await vi.waitFor(() => expect(ips(r)).toEqual({ z: '10.0.0.9' }));
  });

  it('refreshes credentials once on 401', async () => {
    const api = await new FakeApiServer().start();
    api.serve(PODS, 'PodList', 'v1');
    let token = 'old';
    const conn = testConnection(api.url);
    conn.authorization = async () => `Bearer ${token}`;
    conn.invalidate = () => {
      token = 'new';
    };
    api.requireAuthorization = 'Bearer new';
    const client = new KubeClient(conn);
    cleanup.push(async () => {
      await client.close();
      await api.close();
    });
    const res = await client.send('GET', PODS);
    expect(res.status).toBe(200);
    expect(api.requests.map((q) => q.authorization)).toEqual(['Bearer old', 'Bearer new']);
  });

  it('stops promptly, closing its watch', async () => {
    const { api, r } = await setup();
    r.start();
    await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(1));
    await r.stop();
    await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(0));
    const n = api.requests.length;
    await new Promise((res) => setTimeout(res, 50));
    expect(api.requests.length).toBe(n);
  });
});
