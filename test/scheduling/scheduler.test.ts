import { registerBuiltinPlugins } from '../../src/builtin-plugins.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { buildScheduling } from '../../src/scheduling/build.js';
import { Scheduler } from '../../src/scheduling/scheduler.js';
import { Candidates } from '../../src/scheduling/framework/plugin.js';
import { CycleState } from '../../src/scheduling/framework/cycle.js';
import { ManualClock, makePool, seeded, snapshot } from '../support/pool.js';
import { HERMETIC_CONFIG, request, schedulerFor } from '../support/scheduling.js';
import { DEFAULT_CONFIG_YAML } from '../../src/config/defaults.js';
import { EndpointPool } from '../../src/pool/pool.js';

describe('scheduler', () => {
  it('does not pick endpoints with stale metrics while fresh ones exist', () => {
    const clock = new ManualClock();
    const pool = makePool([{ q: 0, kv: 0 }, { q: 50, kv: 0.9 }], clock);
    clock.advance(3000); // both stale
    pool.recordMetrics(pool.endpoints()[1], snapshot({ q: 50, kv: 0.9 })); // only the busy one is fresh
    const r = schedulerFor(pool).schedule(request('m'), null, true);
    expect(r.kind === 'picked' && r.endpoints[0].name).toBe('pod-1');
    if (r.kind === 'picked') {
      expect(r.explanation!.endpoints[0].metrics.fresh).toBe(false);
      expect(r.explanation!.endpoints[0].filteredBy).toBe('metrics-staleness');
    }
  });

  it('falls back to least in-flight when every endpoint is stale', () => {
    const clock = new ManualClock();
    const pool = makePool([{}, {}, {}], clock);
    clock.advance(10_000);
    const [a, b] = pool.endpoints();
    pool.dispatch(a.slot, 1);
    pool.dispatch(b.slot, 1);
    const r = schedulerFor(pool).schedule(request('m'), null, true);
    expect(r.kind).toBe('picked');
    if (r.kind !== 'picked') return;
    expect(r.stale).toBe(true);
    expect(r.endpoints[0].name).toBe('pod-2');
    expect(r.explanation!.fallback).toMatch(/stale/);
  });

  it('treats never-scraped endpoints as stale, and a zero threshold disables staleness', () => {
    const pool = makePool([{ q: 100 }]);
    pool.upsert({ address: '10.0.0.9', port: 8000 });
    const r = schedulerFor(pool).schedule(request('m'), null, false);
    expect(r.kind === 'picked' && r.endpoints[0].name).toBe('pod-0');
    const r2 = schedulerFor(pool, HERMETIC_CONFIG, 0).schedule(request('m'), null, false);
    expect(r2.kind === 'picked' && r2.endpoints[0].key).toBe('10.0.0.9:8000');
  });

  it('restricts candidates to the subset, and an empty subset leaves none', () => {
    const pool = makePool([{ q: 0 }, { q: 5 }, { q: 10 }]);
    const s = schedulerFor(pool);
    const r = s.schedule(request('m'), new Set(['192.168.1.3']), false);
    expect(r.kind === 'picked' && r.endpoints[0].name).toBe('pod-2');
    expect(s.schedule(request('m'), new Set(), false).kind).toBe('no-candidates');
    expect(s.schedule(request('m'), new Set(['192.168.1.99']), false).kind).toBe('no-candidates');
  });

  it('reports the filter that left no endpoints', () => {
    const pool = makePool([{ q: 500 }]);
    const cfg = `plugins: [{type: low-queue-filter, parameters: {threshold: 1}}, {type: max-score-picker}]
schedulingProfiles: [{name: p, plugins: [{pluginRef: low-queue-filter}, {pluginRef: max-score-picker}]}]`;
    const r = schedulerFor(pool, cfg).schedule(request('m'), null, true);
    expect(r.kind).toBe('failed');
    if (r.kind === 'failed') expect(r.reason).toMatch(/low-queue-filter/);
  });

  it('explains every endpoint with its per-scorer scores, weights and the filter that removed it', () => {
    const pool = makePool([{ q: 1, kv: 0.1 }, { q: 9, kv: 0.1 }]);
    const cfg = `plugins: [{type: utilization-detector}, {type: queue-scorer}, {type: kv-cache-utilization-scorer}, {type: max-score-picker}]
schedulingProfiles: [{name: p, plugins: [{pluginRef: utilization-detector}, {pluginRef: queue-scorer, weight: 2}, {pluginRef: kv-cache-utilization-scorer}, {pluginRef: max-score-picker}]}]`;
    const r = schedulerFor(pool, cfg).schedule(request('m'), null, true);
    expect(r.kind).toBe('picked');
    if (r.kind !== 'picked') return;
    const e = r.explanation!;
    expect(e.weights).toEqual({ 'queue-scorer': 2, 'kv-cache-utilization-scorer': 1 });
    expect(e.picked).toEqual(['192.168.1.1:8000']);
    expect(e.endpoints[1].filteredBy).toBe('utilization-detector');
    expect(e.endpoints[0].scores['kv-cache-utilization-scorer']).toBeCloseTo(0.9, 10);
    expect(e.endpoints[0].total).toBeCloseTo(2.9, 10);
  });

  it('the default profile gives a near tie to the lighter endpoint, and says so', () => {
    // Loads 4 and 3 pass the bound (max(3.5 x 1.25, 3 + 2) = 5); pod-0's lower KV usage puts its
    // total 0.1 above pod-1's, within the 0.25 margin, so pod-1's lighter load wins.
    const pool = makePool([{ running: 4, kv: 0.1 }, { running: 3, kv: 0.15 }]);
    const [a, b] = pool.endpoints();
    const r = schedulerFor(pool, DEFAULT_CONFIG_YAML).schedule(request('m', 'A question nobody asked before. '.repeat(20)), null, true);
    expect(r.kind === 'picked' && r.endpoints[0]).toBe(b);
    if (r.kind !== 'picked') return;
    const e = r.explanation!;
    expect(e.endpoints.find((x) => x.endpoint === a.key)!.total - e.endpoints.find((x) => x.endpoint === b.key)!.total).toBeCloseTo(0.1, 10);
    expect(e.decisive).toMatchObject({ runnerUp: a.key, pickedBelowBest: true });
    // Without the margin the higher total wins and nothing is below the best.
    const plain = schedulerFor(pool, DEFAULT_CONFIG_YAML.replace('tieMargin: 0.25', 'tieMargin: 0')).schedule(request('m', 'Another question. '.repeat(20)), null, true);
    expect(plain.kind === 'picked' && plain.endpoints[0]).toBe(a);
    expect(plain.kind === 'picked' && plain.explanation!.decisive!.pickedBelowBest).toBe(false);
  });

  it('the default profile leaves a near tie alone when the request has affinity to keep (an adapter)', () => {
    // Both pods run adapter sql-lora; pod-0 is ahead by 0.1 on KV usage and carries more load.
    const pods = [{ running: 4, kv: 0.1, active: ['sql-lora'], maxLora: 2 }, { running: 3, kv: 0.15, active: ['sql-lora'], maxLora: 2 }];
    const pool = makePool(pods);
    const [a, b] = pool.endpoints();
    const s = schedulerFor(pool, DEFAULT_CONFIG_YAML);
    // Adapter names are learnt from scrapes that arrive after the scheduler starts.
    pool.endpoints().forEach((ep, i) => pool.recordMetrics(ep, snapshot(pods[i])));
    const adapter = s.schedule(request('sql-lora', 'A question nobody asked before. '.repeat(20)), null, true);
    expect(adapter.kind === 'picked' && adapter.endpoints[0]).toBe(a);
    expect(adapter.kind === 'picked' && adapter.explanation!.decisive!.pickedBelowBest).toBe(false);
    // A base-model request has no affinity there: the near tie goes to the lighter pod.
    const base = s.schedule(request('m', 'Another question nobody asked before. '.repeat(20)), null, true);
    expect(base.kind === 'picked' && base.endpoints[0]).toBe(b);
    // With tieScope: all the adapter request's near tie would go to the lighter pod as well.
    const all = schedulerFor(pool, DEFAULT_CONFIG_YAML.replace('tieScope: no-affinity', 'tieScope: all'));
    pool.endpoints().forEach((ep, i) => pool.recordMetrics(ep, snapshot(pods[i])));
    const anyway = all.schedule(request('sql-lora', 'A third question nobody asked before. '.repeat(20)), null, true);
    expect(anyway.kind === 'picked' && anyway.endpoints[0]).toBe(b);
  });

  it('the default profile treats a name other than the served base model as an adapter before any scrape reports it', () => {
    const pods = [{ running: 2, maxLora: 2 }, { running: 2, maxLora: 2 }];
    const run = (servedModel: string | undefined): string[] => {
      const pool = makePool(pods);
      const s = schedulerFor(pool, DEFAULT_CONFIG_YAML);
      pool.endpoints().forEach((ep, i) => pool.recordMetrics(ep, { ...snapshot(pods[i]), ...(servedModel ? { servedModel } : {}) }));
      const out: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = s.schedule(request('tail-adapter-7', `Question ${i} nobody asked before. `.repeat(20)), null, false);
        out.push(r.kind === 'picked' ? r.endpoints[0].name : 'none');
      }
      return out;
    };
    // Known to be an adapter: remembered where it went, its requests stay together (one load).
    const known = run('meta-llama/Llama-3.1-8B-Instruct');
    expect(new Set(known).size).toBe(1);
    // Unknown (no model_name label): a base-model request to the router, balanced across the pods.
    expect(new Set(run(undefined)).size).toBe(2);
  });

  it('the default profile stops pulling an adapter towards its pod once running requests fill that pod\'s KV cache', () => {
    // Pod-0 runs sql-lora; pod-1 runs another adapter and has a free slot (three adapters in two
    // slots: a load may evict one, so the free slot is worth less). Equal queues and loads.
    const pick = (kv0: number, yaml = DEFAULT_CONFIG_YAML): { name: string; term: string | null } => {
      const pods = [
        { running: 4, kv: kv0, active: ['sql-lora', 'chat-lora'], maxLora: 2 },
        { running: 4, kv: 0.5, active: ['code-lora'], maxLora: 2 },
      ];
      const pool = makePool(pods);
      const s = schedulerFor(pool, yaml);
      pool.endpoints().forEach((ep, i) => pool.recordMetrics(ep, { ...snapshot(pods[i]), servedModel: 'meta-llama/Llama-3.1-8B-Instruct' }));
      const r = s.schedule(request('sql-lora', 'A question nobody asked before. '.repeat(20)), null, true);
      if (r.kind !== 'picked') throw new Error('no pick');
      return { name: r.endpoints[0].name, term: r.explanation!.decisive!.term };
    };
    // With room in its cache the adapter's pod wins on LoRA affinity, even a little fuller.
    expect(pick(0.6)).toEqual({ name: 'pod-0', term: 'lora-affinity-scorer' });
    // Nearly full (97% held by running requests): the pull has faded, the free slot elsewhere wins.
    expect(pick(0.97).name).toBe('pod-1');
    // Without kvYieldFrom the adapter's pull outweighs the full cache.
    expect(DEFAULT_CONFIG_YAML).toContain('kvYieldFrom: 0.8');
    expect(pick(0.97, DEFAULT_CONFIG_YAML.replace('kvYieldFrom: 0.8', 'kvYieldFrom: 0')).name).toBe('pod-0');
  });

  it('the default profile spills a request with no affinity to an endpoint with no queue while the others queue, and says so', () => {
    // Loads 12, 12, 30: the tight bound for a prompt nobody holds (max(18 x 1.25, 12 + 2) = 22.5)
    // drops pod-2, but pod-0 and pod-1 queue and pod-2 does not.
    const pool = makePool([{ q: 2, running: 10 }, { q: 2, running: 10 }, { running: 30 }]);
    const [a, b, c] = pool.endpoints();
    pool.signal.ttft[a.slot] = 100;
    pool.signal.ttft[b.slot] = 120;
    const s = schedulerFor(pool, DEFAULT_CONFIG_YAML);
    const r = s.schedule(request('m', 'A question nobody asked before. '.repeat(20)), null, true);
    expect(r.kind).toBe('picked');
    if (r.kind !== 'picked') return;
    expect(r.endpoints[0]).toBe(c);
    const e = r.explanation!;
    expect(e.decisive!.spilledBy).toBe('decode-headroom-filter');
    expect(e.endpoints.find((x) => x.endpoint === c.key)).toMatchObject({ filteredBy: null, spilledBy: 'decode-headroom-filter' });
    expect(e.endpoints.find((x) => x.endpoint === a.key)!.spilledBy).toBeNull();
    // Once pod-0 has room again, the bound holds and pod-2 is out.
    pool.waiting[a.slot] = 0;
    const r2 = s.schedule(request('m', 'Another question nobody asked before. '.repeat(20)), null, true);
    expect(r2.kind === 'picked' && r2.endpoints[0]).not.toBe(c);
    if (r2.kind === 'picked') expect(r2.explanation!.endpoints.find((x) => x.endpoint === c.key)!.filteredBy).toBe('decode-headroom-filter');
  });

  it('the default profile keeps a hot adapter on its pod past the load bound while adapters outnumber slots, and says so', () => {
    // Loads 14, 2, 2, 2: the bound is max(5 x 2, 2 + 8) = 10, so pod-0 is over it; it runs
    // sql-lora, and 3 adapters on 1 LoRA slot per pod is more than 2 per slot: 8 more allowed.
    const pods = [
      { running: 14, active: ['sql-lora'], maxLora: 1 },
      { running: 2, active: ['chat-lora'], maxLora: 1 },
      { running: 2, active: ['doc-lora'], maxLora: 1 },
      { running: 2, maxLora: 1 },
    ];
    const pool = makePool(pods);
    const s = schedulerFor(pool, DEFAULT_CONFIG_YAML);
    pool.endpoints().forEach((ep, i) => pool.recordMetrics(ep, { ...snapshot(pods[i]), servedModel: 'meta-llama/Llama-3.1-8B-Instruct' }));
    const [a, b] = pool.endpoints();
    const r = s.schedule(request('sql-lora', 'Count the users. '.repeat(20)), null, true);
    if (r.kind !== 'picked') throw new Error('no pick');
    expect(r.endpoints[0]).toBe(a);
    const e = r.explanation!;
    expect(e.decisive!.allowedBy).toBe('decode-headroom-filter');
    expect(e.endpoints.find((x) => x.endpoint === a.key)).toMatchObject({ filteredBy: null, allowedBy: 'decode-headroom-filter' });
    expect(e.endpoints.find((x) => x.endpoint === b.key)!.allowedBy).toBeNull();
    // Another adapter's request meets the plain bound: pod-0 is filtered out for it.
    const r2 = s.schedule(request('chat-lora', 'Say hello. '.repeat(20)), null, true);
    if (r2.kind !== 'picked') throw new Error('no pick');
    expect(r2.endpoints[0]).not.toBe(a);
    expect(r2.explanation!.endpoints.find((x) => x.endpoint === a.key)!.filteredBy).toBe('decode-headroom-filter');
    expect(r2.explanation!.decisive!.allowedBy).toBeNull();
  });

  it('the default profile sends a hot prefix to its holder, then spreads it once the holder saturates, and says why', () => {
    const pool = makePool([{ running: 2 }, { running: 2 }, { running: 2 }, { running: 2 }]);
    const s = schedulerFor(pool, DEFAULT_CONFIG_YAML);
    const prompt = 'You are the support agent of a large shop. '.repeat(60);
    // Other traffic first: this prompt is one pod's worth of it, not a hot spot the scorer spreads.
    for (let i = 0; i < 8; i++) s.schedule(request('m', `Unrelated prompt number ${i}. `.repeat(40)), null, false);
    const first = s.schedule(request('m', prompt), null, false);
    expect(first.kind).toBe('picked');
    if (first.kind !== 'picked') return;
    const holder = first.endpoints[0];
    const sticky = s.schedule(request('m', prompt), null, true);
    expect(sticky.kind === 'picked' && sticky.endpoints[0]).toBe(holder);
    if (sticky.kind === 'picked') expect(sticky.explanation!.decisive!.term).toBe('prefix-cache-scorer');
    // The holder's batch grows far beyond the others': the prefix goes to a second pod.
    pool.running[holder.slot] = 40;
    const spread = s.schedule(request('m', prompt), null, true);
    expect(spread.kind).toBe('picked');
    if (spread.kind !== 'picked') return;
    expect(spread.endpoints[0]).not.toBe(holder);
    const e = spread.explanation!;
    expect(e.endpoints.find((x) => x.endpoint === holder.key)!.filteredBy).toBe('decode-headroom-filter');
    expect(e.decisive!.filtered).toEqual({ 'decode-headroom-filter': 1 });
    expect(e.endpoints[0].metrics).toMatchObject({ tpotMs: 0, ttftMs: 0, preemptions: 0 });
    // Load falls: the holder (and now the second pod) attract the prefix again.
    pool.running[holder.slot] = 2;
    const back = s.schedule(request('m', prompt), null, false);
    expect(back.kind === 'picked' && [holder, spread.endpoints[0]].includes(back.endpoints[0])).toBe(true);
  });

  it('records the picked endpoint in the prefix index so the same prompt returns there', () => {
    const pool = makePool([{}, {}, {}, {}]);
    const s = schedulerFor(pool, DEFAULT_CONFIG_YAML);
    // Four tenants' prompts, none hot enough to want more than one holder: each returns to where
    // it went first, although that pod carries more in-flight requests than the others by then.
    const prompts = ['helpful assistant', 'SQL expert', 'travel agent', 'poet'].map((r) => `You are a ${r}. `.repeat(60));
    const picked = (prompt: string): string => {
      const r = s.schedule(request('m', prompt), null, false);
      return r.kind === 'picked' ? r.endpoints[0].name : 'none';
    };
    const first = prompts.map(picked);
    for (let round = 0; round < 3; round++) expect(prompts.map(picked)).toEqual(first);
  });
});

describe('scheduler properties', () => {
  const pods = fc.array(
    fc.record({
      q: fc.nat(200),
      running: fc.nat(200),
      kv: fc.double({ min: 0, max: 1, noNaN: true }),
      maxLora: fc.nat(4),
      active: fc.subarray(['a', 'b', 'c']),
      waiting: fc.subarray(['a', 'b', 'c']),
      age: fc.nat(4000),
    }),
    { minLength: 0, maxLength: 40 },
  );
  const configs = [HERMETIC_CONFIG, DEFAULT_CONFIG_YAML,
    `plugins: [{type: weighted-random-picker, parameters: {maxNumOfEndpoints: 3}}, {type: queue-scorer}, {type: token-load-scorer}, {type: running-requests-size-scorer}, {type: utilization-detector}]`];

  it('a pick is always one of the candidates (subset and freshness respected), scores stay in range', () => {
    fc.assert(
      fc.property(pods, fc.constantFrom(...configs), fc.option(fc.subarray([1, 2, 3, 4, 5, 6]), { nil: null }), fc.constantFrom('a', 'b', 'z'), (ps, cfg, subsetIdx, model) => {
        const clock = new ManualClock();
        const pool = new EndpointPool(clock);
        ps.forEach((p, i) => {
          const ep = pool.upsert({ address: `10.0.0.${i + 1}`, port: 8000 });
          clock.t = 1_000_000 - p.age;
          pool.recordMetrics(ep, snapshot(p));
        });
        clock.t = 1_000_000;
        const rng = seeded(11);
        const built = buildScheduling(parseConfig(cfg), { pool, rng }, { registry: registerBuiltinPlugins() });
        const s = new Scheduler(pool, built.profile, { stalenessThresholdMs: 2000, rng });
        const subset = subsetIdx === null ? null : new Set(subsetIdx.map((i) => `10.0.0.${i}`));
        const r = s.schedule(request(model, 'prompt '.repeat(30)), subset, true);
        const candidates = pool.endpoints().filter((e) => subset === null || subset.has(e.address));
        if (candidates.length === 0) return r.kind === 'no-candidates';
        if (r.kind !== 'picked') return false;
        const fresh = candidates.filter((e) => pool.isFresh(e.slot, clock.now(), 2000));
        const allowed = fresh.length > 0 ? fresh : candidates;
        const keys = r.endpoints.map((e) => e.key);
        if (new Set(keys).size !== keys.length) return false;
        if (!keys.every((k) => allowed.some((e) => e.key === k))) return false;
        for (const ex of r.explanation!.endpoints) for (const v of Object.values(ex.scores)) if (!(v >= 0 && v <= 1)) return false;
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('filters never return endpoints they were not given', () => {
    fc.assert(
      fc.property(pods, fc.constantFrom('utilization-detector', 'low-queue-filter', 'least-queue-filter', 'header-based-testing-filter'), (ps, type) => {
        const pool = makePool(ps);
        const built = buildScheduling(parseConfig(`plugins: [{type: ${type}}]`), { pool, rng: seeded(1) }, { registry: registerBuiltinPlugins() });
        const f = built.profile.filters[0];
        const input = pool.endpoints().filter((_, i) => i % 2 === 0).map((e) => e.slot);
        const cands = new Candidates(pool.capacity);
        for (const sl of input) cands.push(sl);
        const out = new Candidates(pool.capacity);
        const c = new CycleState(request('m', 'x', { 'test-epp-endpoint-selection': '10.0.0.1' }), pool, pool.clock.now(), seeded(2), null);
        f.filter(c, cands, out);
        return [...out.slots.subarray(0, out.length)].every((s) => input.includes(s));
      }),
      { numRuns: 200 },
    );
  });
});
