/**
 * Kubernetes discovery end to end against the fake API server: InferencePool, pods, objectives
 * and rewrites feed a real core (pool, objective store, rewriter, director).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { KubeClient } from '../../src/discovery/kubernetes/client.js';
import { KubernetesDiscovery, type KubernetesMode } from '../../src/discovery/kubernetes/kubernetes-discovery.js';
import { createSwitchboard, type Switchboard } from '../../src/switchboard.js';
import { FakeApiServer, podObject } from '../support/fake-apiserver.js';
import { FAST, recordingHooks, testConnection } from '../support/kube.js';
import { routeCompletion } from '../support/requests.js';

const NS = 'default';
const PODS = `/api/v1/namespaces/${NS}/pods`;
const POOLS = `/apis/inference.networking.k8s.io/v1/namespaces/${NS}/inferencepools`;
const OBJECTIVES = `/apis/inference.networking.x-k8s.io/v1alpha2/namespaces/${NS}/inferenceobjectives`;
const REWRITES = `/apis/inference.networking.x-k8s.io/v1alpha2/namespaces/${NS}/inferencemodelrewrites`;
const ENGINE = 'inference.networking.k8s.io/engine-type';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function poolObject(name: string, spec: { labels?: Record<string, string>; ports?: number[]; appProtocol?: string } = {}) {
  return {
    metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels: spec.labels ?? { app: 'vllm' } },
      targetPorts: (spec.ports ?? [8000]).map((number) => ({ number })),
      ...(spec.appProtocol !== undefined ? { appProtocol: spec.appProtocol } : {}),
      endpointPickerRef: { name: 'switchboard', port: { number: 9002 }, failureMode: 'FailOpen' },
    },
  };
}

interface Setup {
  api: FakeApiServer;
  core: Switchboard;
  discovery: KubernetesDiscovery;
  hooks: ReturnType<typeof recordingHooks>;
}

async function setup(
  opts: { mode?: KubernetesMode; crds?: Array<'objectives' | 'rewrites'>; base?: Parameters<typeof createSwitchboard>[0]['config']; metricsPort?: number } = {},
): Promise<Setup> {
  const api = await new FakeApiServer().start();
  api.serve(PODS, 'PodList', 'v1').serve(POOLS, 'InferencePoolList', 'inference.networking.k8s.io/v1');
  for (const c of opts.crds ?? ['objectives', 'rewrites'])
    api.serve(c === 'objectives' ? OBJECTIVES : REWRITES, c === 'objectives' ? 'InferenceObjectiveList' : 'InferenceModelRewriteList', 'inference.networking.x-k8s.io/v1alpha2');
  const config = opts.base ?? defaultConfig();
  const core = createSwitchboard({ config, scrape: false, telemetry: false });
  const client = new KubeClient(testConnection(api.url));
  const hooks = recordingHooks();
  const discovery = new KubernetesDiscovery({
    client,
    namespace: NS,
    mode: opts.mode ?? { kind: 'pool', name: 'llm', group: 'inference.networking.k8s.io' },
    target: core,
    base: config,
    metricsPortOverride: opts.metricsPort,
    logger: silent,
    hooks,
    ...FAST,
  });
  cleanup.push(async () => {
    await discovery.close();
    await client.close();
    await core.close();
    await api.close();
  });
  return { api, core, discovery, hooks };
}

const endpoints = (core: Switchboard) =>
  core.pool
    .endpoints()
    .map((e) => `${e.name}=${e.key}`)
    .sort();

describe('kubernetes discovery (pool mode)', () => {
  it('turns Ready, live, addressed pods into one endpoint per active target port', async () => {
    const { api, core, discovery } = await setup();
    api.put(POOLS, poolObject('llm', { ports: [8000, 8001] }));
    api.put(PODS, podObject('a', { ip: '10.0.0.1', labels: { app: 'vllm', [ENGINE]: 'sglang' } }));
    api.put(PODS, podObject('not-ready', { ip: '10.0.0.2', ready: false }));
    api.put(PODS, podObject('terminating', { ip: '10.0.0.3', deleting: true }));
    api.put(PODS, podObject('no-ip', { ip: null }));
    api.put(PODS, podObject('other-app', { ip: '10.0.0.5', labels: { app: 'other' } }));
    api.put(PODS, podObject('f', { ip: '10.0.0.6', annotations: { 'inference.networking.k8s.io/active-ports': '8001, 9999' } }));
    await discovery.start();
    await vi.waitFor(() => expect(core.pool.synced).toBe(true));
    expect(endpoints(core)).toEqual(['a-rank-0=10.0.0.1:8000', 'a-rank-1=10.0.0.1:8001', 'f-rank-1=10.0.0.6:8001']);
    expect(core.pool.get('10.0.0.1:8000')?.engineType()).toBe('sglang');
    // The pod watch carries the pool's selector; the pool watch names the pool.
    expect(api.watchRequests(PODS)[0]?.query.get('labelSelector') ?? api.listRequests(PODS)[0].query.get('labelSelector')).toBe('app=vllm');
    expect(api.listRequests(POOLS)[0].query.get('fieldSelector')).toBe('metadata.name=llm');
    expect(discovery.pool?.appProtocol).toBe('http');
  });

  it('is not synced until the InferencePool exists', async () => {
    const { api, core, discovery } = await setup();
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    await discovery.start();
    await vi.waitFor(() => expect(api.watchCount(POOLS)).toBe(1));
    expect(core.pool.synced).toBe(false);
    expect(core.pool.size).toBe(0);
    api.put(POOLS, poolObject('llm'));
    await vi.waitFor(() => expect(core.pool.synced).toBe(true));
    expect(endpoints(core)).toEqual(['a-rank-0=10.0.0.1:8000']);
  });

  it('follows pods as they become ready, change and go, keeping in-flight counts of endpoints that stay', async () => {
    const { api, core, discovery } = await setup();
    api.put(POOLS, poolObject('llm'));
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    api.put(PODS, podObject('b', { ip: '10.0.0.2', ready: false }));
    await discovery.start();
    await vi.waitFor(() => expect(core.pool.synced).toBe(true));
    const a = core.pool.get('10.0.0.1:8000')!;
    core.pool.dispatch(a.slot, 100);
    api.put(PODS, podObject('b', { ip: '10.0.0.2' }));
    await vi.waitFor(() => expect(core.pool.size).toBe(2));
    api.put(PODS, podObject('a', { ip: '10.0.0.1', labels: { app: 'vllm', [ENGINE]: 'vllm' } }));
    await vi.waitFor(() => expect(core.pool.get('10.0.0.1:8000')?.engineType()).toBe('vllm'));
    expect(core.pool.inflight[core.pool.get('10.0.0.1:8000')!.slot]).toBe(1);
    api.put(PODS, podObject('b', { ip: '10.0.0.2', deleting: true }));
    await vi.waitFor(() => expect(endpoints(core)).toEqual(['a-rank-0=10.0.0.1:8000']));
    api.remove(PODS, 'a');
    await vi.waitFor(() => expect(core.pool.size).toBe(0));
    // The request in flight to a removed endpoint still finishes without trouble.
    core.pool.complete(a, 100);
  });

  it('re-lists pods when the pool selector changes, and re-ranks when target ports change', async () => {
    const { api, core, discovery } = await setup();
    api.put(POOLS, poolObject('llm'));
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    api.put(PODS, podObject('b', { ip: '10.0.0.2', labels: { app: 'vllm-v2' } }));
    await discovery.start();
    await vi.waitFor(() => expect(endpoints(core)).toEqual(['a-rank-0=10.0.0.1:8000']));
    api.put(POOLS, poolObject('llm', { labels: { app: 'vllm-v2' } }));
    await vi.waitFor(() => expect(endpoints(core)).toEqual(['b-rank-0=10.0.0.2:8000']));
    expect(api.listRequests(PODS).map((r) => r.query.get('labelSelector'))).toEqual(['app=vllm', 'app=vllm-v2']);
    await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(1));
    api.put(POOLS, poolObject('llm', { labels: { app: 'vllm-v2' }, ports: [9000, 9001] }));
    await vi.waitFor(() => expect(endpoints(core)).toEqual(['b-rank-0=10.0.0.2:9000', 'b-rank-1=10.0.0.2:9001']));
    expect(api.listRequests(PODS)).toHaveLength(2);
  });

  it('drops every endpoint and readiness when the pool is deleted, and recovers when it returns', async () => {
    const { api, core, discovery } = await setup();
    api.put(POOLS, poolObject('llm'));
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    await discovery.start();
    await vi.waitFor(() => expect(core.pool.synced).toBe(true));
    api.remove(POOLS, 'llm');
    await vi.waitFor(() => expect(core.pool.synced).toBe(false));
    expect(core.pool.size).toBe(0);
    api.put(POOLS, poolObject('llm'));
    await vi.waitFor(() => expect(core.pool.synced).toBe(true));
    expect(core.pool.size).toBe(1);
  });

  it('ignores an unusable pool spec, counting it', async () => {
    const { api, core, discovery, hooks } = await setup();
    api.put(POOLS, poolObject('llm', { ports: [1, 2, 3, 4, 5, 6, 7, 8, 9] }));
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    await discovery.start();
    await vi.waitFor(() => expect(hooks.malformedSeen.some((m) => m.startsWith('inferencepools'))).toBe(true));
    expect(core.pool.synced).toBe(false);
    api.put(POOLS, poolObject('llm', { ports: [8000] }));
    await vi.waitFor(() => expect(core.pool.synced).toBe(true));
  });

  it('applies the metrics port override to single-port pools only', async () => {
    const { api, core, discovery } = await setup({ metricsPort: 9100 });
    api.put(POOLS, poolObject('llm'));
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    await discovery.start();
    await vi.waitFor(() => expect(core.pool.size).toBe(1));
    expect(core.pool.endpoints()[0].metricsPort).toBe(9100);
    api.put(POOLS, poolObject('llm', { ports: [8000, 8001] }));
    await vi.waitFor(() => expect(core.pool.size).toBe(2));
    expect(core.pool.endpoints().map((e) => e.metricsPort).sort()).toEqual([8000, 8001]);
  });

  it('stays consistent through dropped watches and compaction while pods churn', async () => {
    const { api, core, discovery } = await setup();
    api.put(POOLS, poolObject('llm'));
    for (let i = 0; i < 6; i++) api.put(PODS, podObject(`p${i}`, { ip: `10.0.1.${i}` }));
    await discovery.start();
    await vi.waitFor(() => expect(core.pool.size).toBe(6));
    for (let round = 0; round < 5; round++) {
      api.dropWatches();
      api.put(PODS, podObject(`p${round}`, { ip: `10.0.1.${round}`, ready: round % 2 === 0 }));
      api.put(PODS, podObject(`n${round}`, { ip: `10.0.2.${round}` }));
      if (round === 2) api.compact();
      await vi.waitFor(() => expect(api.watchCount(PODS)).toBe(1));
    }
    const expected = ['p0', 'p2', 'p4', 'p5', 'n0', 'n1', 'n2', 'n3', 'n4'].map((n) => `${n}-rank-0`).sort();
    await vi.waitFor(() => expect(core.pool.endpoints().map((e) => e.name).sort()).toEqual(expected));
  });
});

describe('kubernetes discovery: objectives and rewrites', () => {
  it('loads InferenceObjective priorities for this pool by name, over the config file', async () => {
    const base = defaultConfig();
    base.objectives = [
      { name: 'from-config', priority: 3 },
      { name: 'both', priority: 1 },
    ];
    const { api, core, discovery } = await setup({ base });
    const obj = (name: string, pool: string, priority?: number) => ({ metadata: { name }, spec: { poolRef: { name: pool }, ...(priority !== undefined ? { priority } : {}) } });
    api.put(OBJECTIVES, obj('batch', 'llm', -5));
    api.put(OBJECTIVES, obj('interactive', 'llm', 10));
    api.put(OBJECTIVES, obj('unset', 'llm'));
    api.put(OBJECTIVES, obj('elsewhere', 'other-pool', 99));
    api.put(OBJECTIVES, obj('both', 'llm', 7));
    api.put(POOLS, poolObject('llm'));
    await discovery.start();
    await vi.waitFor(() => expect(core.objectives.priority('batch')).toBe(-5));
    expect(core.objectives.priority('interactive')).toBe(10);
    expect(core.objectives.priority('unset')).toBe(0);
    expect(core.objectives.priority('elsewhere')).toBe(0);
    expect(core.objectives.priority('from-config')).toBe(3);
    expect(core.objectives.priority('both')).toBe(7);
    api.remove(OBJECTIVES, 'batch');
    await vi.waitFor(() => expect(core.objectives.priority('batch')).toBe(0));
  });

  it('applies rewrites with exact matches first, oldest resource first, then the generic rule', async () => {
    const { api, core, discovery } = await setup();
    const rw = (name: string, created: string, rules: unknown[], pool = 'llm') => ({ metadata: { name, creationTimestamp: created }, spec: { poolRef: { name: pool }, rules } });
    const to = (model: string, weight?: number) => ({ modelRewrite: model, ...(weight !== undefined ? { weight } : {}) });
    const exact = (...models: string[]) => models.map((value) => ({ model: { type: 'Exact', value } }));
    api.put(REWRITES, rw('newer', '2026-02-01T00:00:00Z', [{ matches: exact('chat'), targets: [to('chat-v2')] }, { targets: [to('fallback-newer')] }]));
    api.put(REWRITES, rw('older', '2026-01-01T00:00:00Z', [{ matches: exact('chat', 'talk'), targets: [to('chat-v1')] }]));
    api.put(REWRITES, rw('generic', '2026-01-15T00:00:00Z', [{ targets: [to('base', 1), to('base', 1)] }]));
    api.put(REWRITES, rw('foreign', '2025-01-01T00:00:00Z', [{ matches: exact('chat'), targets: [to('foreign')] }], 'other'));
    api.put(POOLS, poolObject('llm'));
    await discovery.start();
    await vi.waitFor(() => expect(core.rewriter.rewrite('chat', () => 0)).toBe('chat-v1'));
    expect(core.rewriter.rewrite('talk', () => 0)).toBe('chat-v1');
    expect(core.rewriter.rewrite('anything', () => 0.5)).toBe('base');
    // Resource names label the rewrite decisions metric.
    expect([core.rewriter.rule('talk')?.name, core.rewriter.rule('anything')?.name]).toEqual(['older', 'generic']);
    api.remove(REWRITES, 'older');
    await vi.waitFor(() => expect(core.rewriter.rewrite('chat', () => 0)).toBe('chat-v2'));
    api.remove(REWRITES, 'generic');
    await vi.waitFor(() => expect(core.rewriter.rewrite('anything', () => 0)).toBe('fallback-newer'));
    expect(core.rewriter.rule('anything')?.name).toBe('newer');

    // Through the director: the body's model is rewritten before scheduling.
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    await vi.waitFor(() => expect(core.pool.size).toBe(1));
    const d = await routeCompletion(core, 'chat', 'hi');
    expect(JSON.parse(d.body!.toString()).model).toBe('chat-v2');
    d.lifecycle.finish('ok');
  });

  it('becomes ready without the optional CRDs, and picks them up once installed', async () => {
    const { api, core, discovery } = await setup({ crds: [] });
    api.put(POOLS, poolObject('llm'));
    api.put(PODS, podObject('a', { ip: '10.0.0.1' }));
    await discovery.start();
    await vi.waitFor(() => expect(core.pool.synced).toBe(true));
    expect(api.listRequests(OBJECTIVES).length).toBeGreaterThanOrEqual(1);
    api.serve(OBJECTIVES, 'InferenceObjectiveList', 'inference.networking.x-k8s.io/v1alpha2');
    api.put(OBJECTIVES, { metadata: { name: 'late' }, spec: { poolRef: { name: 'llm' }, priority: 4 } });
    await vi.waitFor(() => expect(core.objectives.priority('late')).toBe(4));
  });

  it('becomes ready when RBAC forbids the optional resources', async () => {
    const { api, core, discovery } = await setup();
    api.forbidden.add(OBJECTIVES);
    api.forbidden.add(REWRITES);
    api.put(POOLS, poolObject('llm'));
    await discovery.start();
    await vi.waitFor(() => expect(core.pool.synced).toBe(true));
  });
});

describe('kubernetes discovery (selector mode)', () => {
  it('watches only pods, with the flag selector and target ports', async () => {
    const { api, core, discovery } = await setup({ mode: { kind: 'selector', selector: { app: 'vllm', tier: 'gpu' }, targetPorts: [8000, 8002] } });
    api.put(PODS, podObject('a', { ip: '10.0.0.1', labels: { app: 'vllm', tier: 'gpu' } }));
    api.put(PODS, podObject('b', { ip: '10.0.0.2', labels: { app: 'vllm' } }));
    await discovery.start();
    await vi.waitFor(() => expect(core.pool.synced).toBe(true));
    expect(endpoints(core)).toEqual(['a-rank-0=10.0.0.1:8000', 'a-rank-1=10.0.0.1:8002']);
    expect(api.listRequests(PODS)[0].query.get('labelSelector')).toBe('app=vllm,tier=gpu');
    expect(api.requests.every((r) => r.path === PODS)).toBe(true);
  });
});
