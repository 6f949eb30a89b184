import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Decision, InferenceRequest, RoutedDecision } from '../../src/director/types.js';
import { createMultiPool, type MultiPool } from '../../src/multipool/multi-pool.js';
import { ManualClock, seeded, snapshot, type PodMetrics } from '../support/pool.js';

/** Two static pools: `l4` (cheap, preferred) and `h100` (costly), two endpoints each. */
const CONFIG = `
apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
pools:
- name: l4
  endpoints: ["10.0.0.1:8000", "10.0.0.2:8000"]
  attributes: { region: us-central1, accelerator: nvidia-l4, costRank: 0 }
- name: h100
  endpoints: ["10.1.0.1:8000", "10.1.0.2:8000"]
  attributes: { region: us-east1, accelerator: nvidia-h100, costRank: 2 }
spillover:
  enterSaturation: 1
  exitSaturation: 0.8
  rampUp: 10s
  policies:
  - { objective: batch, pools: [l4], whenSaturated: SHED_OR_ADMIT }
`;

function build(whenSaturated: 'shed' | 'admit' = 'shed'): MultiPool & { clock: ManualClock } {
  const clock = new ManualClock();
  const mp = createMultiPool({ config: parseConfig(CONFIG.replace('SHED_OR_ADMIT', whenSaturated)), clock, rng: seeded(5), scrape: false });
  return Object.assign(mp, { clock });
}

/** Records a scrape of every endpoint of `pool` with `m` (per endpoint when a list). */
function scrape(mp: MultiPool, pool: string, m: PodMetrics | PodMetrics[]): void {
  const core = mp.member(pool)!.core;
  core.pool.endpoints().forEach((ep, i) => {
    core.pool.scrapeStarted(ep);
    core.pool.recordMetrics(ep, snapshot(Array.isArray(m) ? m[i] : m));
  });
}

function req(headers: Record<string, string> = {}, extra: Partial<InferenceRequest> = {}): InferenceRequest {
  return {
    requestId: 'r',
    path: '/v1/completions',
    headers: { get: (n) => headers[n] },
    body: Buffer.from(JSON.stringify({ model: 'm', prompt: 'hello there', max_tokens: 8 })),
    subset: null,
    ...extra,
  };
}

const routed = (d: Decision): RoutedDecision => {
  if (d.kind !== 'route') throw new Error(`rejected: ${d.error.message}`);
  return d;
};

/** Routes `n` requests, finishing each; returns how many each pool got. */
async function share(mp: MultiPool, n: number, headers: Record<string, string> = {}): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const d = routed(await mp.director.handleRequest(req(headers)));
    const pool = d.endpoints[0].address.startsWith('10.0.') ? 'l4' : 'h100';
    out[pool] = (out[pool] ?? 0) + 1;
    d.lifecycle.finish('ok');
  }
  return out;
}

const metricLines = async (mp: MultiPool, name: string) => (await mp.telemetry!.registry.metrics()).split('\n').filter((l) => l.startsWith(name));

describe('multi-pool director', () => {
  it('keeps traffic in the preferred pool while it has headroom, and says so in the explanation', async () => {
    const mp = build();
    scrape(mp, 'l4', { q: 1, kv: 0.2 });
    scrape(mp, 'h100', { q: 0, kv: 0 });
    expect(await share(mp, 10)).toEqual({ l4: 10 });
    const d = routed(await mp.director.handleRequest(req({}, { explain: true })));
    expect(d.explanation?.pool).toMatchObject({ pool: 'l4', preferred: 'l4', spillReason: null });
    expect(d.explanation?.pool?.pools.map((p) => p.state)).toEqual(['ok', 'ok']);
    expect(await metricLines(mp, 'switchboard_pool_requests_total')).toContain('switchboard_pool_requests_total{name="l4",objective="default"} 11');
    await mp.close();
  });

  it('spills to the next pool when the preferred one is saturated, and counts why', async () => {
    const mp = build();
    scrape(mp, 'l4', { q: 8, kv: 0.5 }); // queue 8 over the detector's threshold of 5
    scrape(mp, 'h100', { q: 0, kv: 0.1 });
    expect(await share(mp, 4)).toEqual({ h100: 4 });
    const d = routed(await mp.director.handleRequest(req({}, { explain: true })));
    expect(d.explanation?.pool).toMatchObject({ pool: 'h100', preferred: 'l4', spillReason: 'saturated' });
    expect(await metricLines(mp, 'switchboard_pool_spills_total')).toContain(
      'switchboard_pool_spills_total{name="l4",to="h100",reason="saturated",objective="default"} 5',
    );
    expect(await metricLines(mp, 'switchboard_pool_saturated')).toContain('switchboard_pool_saturated{name="l4"} 1');
    await mp.close();
  });

  it('does not flap: a saturated pool takes traffic again only below the exit threshold', async () => {
    const mp = build();
    scrape(mp, 'h100', { q: 0 });
    scrape(mp, 'l4', { q: 6 }); // 1.2: saturated
    expect(await share(mp, 2)).toEqual({ h100: 2 });
    scrape(mp, 'l4', { q: 4.5 }); // 0.9: between exit (0.8) and enter (1): stays saturated
    expect(await share(mp, 2)).toEqual({ h100: 2 });
    scrape(mp, 'l4', { q: 3.5 }); // 0.7: below exit, back
    expect(await share(mp, 2)).toEqual({ l4: 2 });
    scrape(mp, 'l4', { q: 4.5 }); // 0.9 again: below enter, stays open
    expect(await share(mp, 2)).toEqual({ l4: 2 });
    await mp.close();
  });

  it('counts requests sent since the last scrape: a burst spills before the next scrape shows it', async () => {
    const mp = build();
    scrape(mp, 'l4', { q: 0 });
    scrape(mp, 'h100', { q: 0 });
    const open: RoutedDecision[] = [];
    for (let i = 0; i < 14; i++) open.push(routed(await mp.director.handleRequest(req())));
    const inL4 = open.filter((d) => d.endpoints[0].address.startsWith('10.0.')).length;
    // Two endpoints reach saturation 1 at 5 unseen requests each; the rest spilled.
    expect(inL4).toBe(10);
    for (const d of open) d.lifecycle.finish('ok');
    await mp.close();
  });

  it("holds an objective that may not spill: shed (429) or handed to the saturated pool's admission", async () => {
    const shed = build('shed');
    scrape(shed, 'l4', { q: 9 });
    scrape(shed, 'h100', { q: 0 });
    const d = await shed.director.handleRequest(req({ 'x-gateway-inference-objective': 'batch' }));
    expect(d.kind === 'reject' && [d.error.status, d.error.code]).toEqual([429, 'SB_ERR_POOLS_SATURATED']);
    // Other objectives still spill.
    expect(await share(shed, 2, { 'x-gateway-inference-objective': 'premium' })).toEqual({ h100: 2 });
    expect(await metricLines(shed, 'switchboard_pool_spill_denied_total')).toContain(
      'switchboard_pool_spill_denied_total{name="l4",action="shed",objective="batch"} 1',
    );
    await shed.close();

    const admit = build('admit');
    scrape(admit, 'l4', { q: 9 });
    scrape(admit, 'h100', { q: 0 });
    expect(await share(admit, 3, { 'x-gateway-inference-objective': 'batch' })).toEqual({ l4: 3 });
    await admit.close();
  });

  it('moves traffic at once when the preferred pool has no endpoints or its scrapes fail', async () => {
    const mp = build();
    scrape(mp, 'l4', { q: 0 });
    scrape(mp, 'h100', { q: 0 });
    const l4 = mp.member('l4')!.core.pool;
    for (const ep of l4.endpoints()) l4.recordScrapeFailure(ep, 'connect ECONNREFUSED');
    let d = routed(await mp.director.handleRequest(req({}, { explain: true })));
    expect(d.explanation?.pool).toMatchObject({ pool: 'h100', spillReason: 'unhealthy' });
    d.lifecycle.finish('ok');
    l4.setEndpoints([]);
    d = routed(await mp.director.handleRequest(req({}, { explain: true })));
    expect(d.explanation?.pool).toMatchObject({ pool: 'h100', spillReason: 'no_endpoints' });
    d.lifecycle.finish('ok');
    await mp.close();
  });

  it('ramps a returning pool back over rampUp instead of moving everything at once', async () => {
    const mp = build();
    scrape(mp, 'l4', { q: 0 });
    scrape(mp, 'h100', { q: 0 });
    expect(await share(mp, 4)).toEqual({ l4: 4 });
    const l4 = mp.member('l4')!.core.pool;
    for (const ep of l4.endpoints()) l4.recordScrapeFailure(ep, 'down');
    expect(await share(mp, 4)).toEqual({ h100: 4 });
    scrape(mp, 'l4', { q: 0 }); // back
    scrape(mp, 'h100', { q: 0 });
    const first = await share(mp, 40); // t = 0 of the ramp: the floor share (5%)
    expect(first.l4).toBe(2);
    mp.clock.advance(5000);
    scrape(mp, 'l4', { q: 0 });
    scrape(mp, 'h100', { q: 0 });
    const half = await share(mp, 40);
    expect(half.l4).toBe(20);
    mp.clock.advance(5000);
    scrape(mp, 'l4', { q: 0 });
    scrape(mp, 'h100', { q: 0 });
    expect(await share(mp, 10)).toEqual({ l4: 10 });
    await mp.close();
  });

  it('passes a request to the next pool when the chosen one has no candidate (retries excluded them all)', async () => {
    const mp = build();
    scrape(mp, 'l4', { q: 0 });
    scrape(mp, 'h100', { q: 0 });
    const d = routed(await mp.director.handleRequest(req({}, { exclude: new Set(['10.0.0.1:8000', '10.0.0.2:8000']), retry: true, explain: true })));
    expect(d.endpoints[0].address.startsWith('10.1.')).toBe(true);
    expect(d.explanation?.pool?.spillReason).toBe('no_candidates');
    await mp.close();
  });

  it('keeps prefix affinity inside each pool: every pool has its own plugin instances', async () => {
    const mp = build();
    const [a, b] = mp.members;
    expect(a.core.built.profile).not.toBe(b.core.built.profile);
    expect(a.core.pool).not.toBe(b.core.pool);
    await mp.close();
  });

  it('reports every pool on the shared pool gauges under its name', async () => {
    const mp = build();
    scrape(mp, 'l4', { q: 2 });
    scrape(mp, 'h100', [{ q: 1 }, { q: 3 }]);
    const lines = await metricLines(mp, 'inference_pool_average_queue_size');
    expect(lines).toContain('inference_pool_average_queue_size{name="l4"} 2');
    expect(lines).toContain('inference_pool_average_queue_size{name="h100"} 2');
    expect(await metricLines(mp, 'switchboard_pool_info')).toContain('switchboard_pool_info{name="h100",region="us-east1",accelerator="nvidia-h100",cost_rank="2"} 1');
    await mp.close();
  });

  it("uses each pool's model-server type for endpoints without the engine label", async () => {
    const clock = new ManualClock();
    const mp = createMultiPool({
      config: parseConfig(`
pools:
- { name: gpu, endpoints: ["10.0.0.1:8000"] }
- { name: tpu, endpoints: ["10.2.0.1:8000"], modelServerType: jetstream }
`),
      clock,
      scrape: false,
    });
    expect(mp.member('gpu')!.core.engines.resolve(null).name).toBe('vllm');
    expect(mp.member('tpu')!.core.engines.resolve(null).name).toBe('jetstream');
    await mp.close();
  });
});
