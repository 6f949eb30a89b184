/**
 * Dashboard snapshots over a real core (pool, scheduler, director, telemetry) on a manual clock:
 * rates are counter differences over the clock, staleness follows the threshold, the director
 * explains decisions only while the log has budget (none without viewers), and no request
 * content reaches a snapshot.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/defaults.js';
import type { MetricsSnapshot } from '../../../src/pool/endpoint.js';
import { createSwitchboard } from '../../../src/switchboard.js';
import { DecisionLog, poolDecisions } from '../../../src/telemetry/dashboard/decisions.js';
import { DashboardFeed, quantileMs } from '../../../src/telemetry/dashboard/feed.js';

const metrics = (kv: number, waiting: number, active: string[] = []): MetricsSnapshot => ({
  waitingQueueSize: waiting,
  runningRequests: 2,
  kvCacheUsage: kv,
  activeAdapters: new Set(active),
  waitingAdapters: new Set(),
  maxAdapters: active.length > 0 ? 4 : 0,
  cacheBlockSize: 16,
  cacheNumBlocks: 1000,
});

function setup() {
  let now = 10_000;
  const clock = { now: () => now };
  const decisions = new DecisionLog(5);
  const core = createSwitchboard({
    config: defaultConfig(),
    endpoints: [
      { name: 'a', address: '10.0.0.1', port: 8000 },
      { name: 'b', address: '10.0.0.2', port: 8000 },
    ],
    scrape: false,
    clock,
    stalenessMs: 1000,
    poolName: 'p',
    decisions,
    rng: () => 0.5,
  });
  const [a, b] = core.pool.endpoints();
  core.pool.recordMetrics(a, metrics(0.9, 5, ['sql-lora']));
  core.pool.recordMetrics(b, metrics(0.1, 0));
  const feed = new DashboardFeed(() => [{ name: 'p', pool: core.pool, telemetry: core.telemetry, stalenessMs: 1000 }], decisions);
  const send = async (body: string) => {
    const d = await core.director.handleRequest({ requestId: 'r', path: '/v1/completions', headers: { get: () => undefined }, body: Buffer.from(body), subset: null });
    if (d.kind === 'route') d.lifecycle.finish('ok');
    return d;
  };
  return { core, feed, decisions, send, advance: (ms: number) => (now += ms), a, b };
}

describe('dashboard feed', () => {
  it('reports per-endpoint signals, picks per second over the clock, refusals by code and staleness', async () => {
    const { core, feed, send, advance, a, b } = setup();
    const first = await feed.snapshot();
    expect(first.pools[0].endpoints.map((e) => [e.name, e.kvUsage, e.waiting, e.activeAdapters, e.maxAdapters, e.stale])).toEqual([
      ['a', 0.9, 5, ['sql-lora'], 4, false],
      ['b', 0.1, 0, [], 0, false],
    ]);
    expect(first.pools[0].picksPerSec).toBe(0);
    for (let i = 0; i < 6; i++) await send('{"model":"m","prompt":"hello"}');
    await send('{"model":');
    advance(500);
    core.pool.recordMetrics(b, metrics(0.2, 0));
    const second = await feed.snapshot();
    const pool = second.pools[0];
    // Six picks in half a second, all to the idle endpoint.
    expect(pool.endpoints.map((e) => e.picksPerSec)).toEqual([0, 12]);
    expect(pool.picksPerSec).toBe(12);
    expect(pool.rejections).toEqual([{ code: 'SB_ERR_BAD_JSON', total: 1, perSec: 2 }]);
    expect(pool.scheduler?.perSec).toBe(12);
    expect(pool.scheduler?.p50Ms).toBeGreaterThan(0);
    expect(pool.endpoints[0].metricsAgeMs).toBe(500);
    // a's metrics are not refreshed: past the threshold it is stale, b (scraped 600 ms ago) is not.
    advance(600);
    const third = await feed.snapshot();
    expect(third.pools[0].endpoints.map((e) => [e.name, e.stale, e.metricsAgeMs])).toEqual([
      ['a', true, 1100],
      ['b', false, 600],
    ]);
    expect(a.health.ok).toBe(true);
  });

  it('explains decisions only within the budget a viewer grants, and keeps no prompt', async () => {
    const { feed, decisions, send, advance } = setup();
    await send('{"model":"m","prompt":"secret prompt text"}');
    expect(decisions.latest).toBe(0);
    decisions.allow(2);
    for (let i = 0; i < 4; i++) await send('{"model":"sql-lora","prompt":"secret prompt text"}');
    expect(decisions.latest).toBe(2);
    advance(100);
    const snap = await feed.snapshot();
    expect(snap.decisions.map((d) => d.seq)).toEqual([1, 2]);
    const d = snap.decisions[0];
    expect(d).toMatchObject({ model: 'sql-lora', outcome: 'picked', picked: ['10.0.0.2:8000'], considered: 2 });
    expect(Object.keys(d.weights)).toContain('queue-scorer');
    expect(d.candidates.map((c) => [c.endpoint, c.picked])).toEqual([
      ['10.0.0.2:8000', true],
      ['10.0.0.1:8000', false],
    ]);
    expect(d.candidates[0].total).toBeGreaterThan(d.candidates[1].total);
    expect(JSON.stringify(snap)).not.toContain('secret');
    // Decisions already sent are not sent again; a new viewer gets the recent ones.
    expect((await feed.snapshot()).decisions).toEqual([]);
    expect(feed.recentDecisions().map((x) => x.seq)).toEqual([1, 2]);
  });

  it('shows several pools, each with its own endpoints, and names the pool of each decision', async () => {
    const a = setup();
    const b = setup();
    const log = new DecisionLog(10);
    const feed = new DashboardFeed(
      () => [
        { name: 'l4', pool: a.core.pool, telemetry: a.core.telemetry, stalenessMs: 1000, sharedTelemetry: true },
        { name: 'tpu', pool: b.core.pool, telemetry: a.core.telemetry, stalenessMs: 1000, sharedTelemetry: true },
      ],
      log,
    );
    log.allow(2);
    poolDecisions(log, 'l4').record({ model: 'm', outcome: 'picked', reason: null, explanation: null, seconds: 0 });
    poolDecisions(log, 'tpu').record({ model: 'm', outcome: 'no-candidates', reason: null, explanation: null, seconds: 0 });
    const snap = await feed.snapshot();
    expect(snap.pools.map((p) => [p.name, p.endpoints.length, p.processWide])).toEqual([
      ['l4', 2, true],
      ['tpu', 2, true],
    ]);
    expect(snap.decisions.map((d) => [d.pool, d.outcome])).toEqual([
      ['l4', 'picked'],
      ['tpu', 'no-candidates'],
    ]);
  });

  it('keeps the last N decisions', () => {
    const log = new DecisionLog(3);
    for (let i = 0; i < 5; i++) log.record({ model: `m${i}`, outcome: 'no-candidates', reason: null, explanation: null, seconds: 0 });
    expect(log.since(0).map((d) => d.model)).toEqual(['m2', 'm3', 'm4']);
    expect(log.since(3).map((d) => d.seq)).toEqual([4, 5]);
  });
});

describe('quantileMs', () => {
  const bounds = Float64Array.from([0.001, 0.002, 0.004]);
  it.each([
    { name: 'median inside the first bucket', counts: [10, 0, 0], n: 10, q: 0.5, ms: 0.5 },
    { name: 'median at the edge of two buckets', counts: [5, 5, 0], n: 10, q: 0.5, ms: 1 },
    { name: 'p99 in the last bucket', counts: [5, 0, 5], n: 10, q: 0.99, ms: 3.96 },
    { name: 'past the last bound', counts: [0, 0, 0], n: 10, q: 0.5, ms: 4 },
  ])('$name', ({ counts, n, q, ms }) => {
    expect(quantileMs(bounds, Float64Array.from(counts), n, q)).toBeCloseTo(ms, 9);
  });
});
