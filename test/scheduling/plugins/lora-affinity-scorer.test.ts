import { describe, expect, it } from 'vitest';
import type { PreRequest, Scorer } from '../../../src/scheduling/framework/plugin.js';
import { makePool, snapshot } from '../../support/pool.js';
import { cycle, plugin, scores } from '../../support/plugin.js';
import { request } from '../../support/scheduling.js';

describe('lora-affinity-scorer', () => {
  it('scores 1.0 / 0.8 / 0.8 / 0.6 / 0.0 as the Go EPP test does', () => {
    const pool = makePool([
      { active: ['active-model-1'], maxLora: 5 },
      { active: ['active-model-2'], waiting: ['active-model-1'], maxLora: 5 },
      { active: ['active-model-2'], maxLora: 2 },
      { active: ['active-model-3'], waiting: ['active-model-1'], maxLora: 2 },
      { active: ['active-model-4', 'active-model-5'], maxLora: 2 },
    ]);
    const s = plugin<Scorer>('lora-affinity-scorer', pool);
    expect(scores(s, pool, request('active-model-1'))).toEqual([1, 0.8, 0.8, 0.6, 0]);
  });

  it('gives 0 to endpoints never scraped', () => {
    const pool = makePool([]);
    pool.upsert({ address: '10.0.0.1', port: 8000 });
    expect(scores(plugin<Scorer>('lora-affinity-scorer', pool), pool, request('a'))).toEqual([0]);
  });

  it('takes custom scores as parameters and validates them', () => {
    const pool = makePool([{ active: ['a'], maxLora: 1 }, { maxLora: 1 }]);
    const s = plugin<Scorer>('lora-affinity-scorer', pool, { activeScore: 0.9, freeSlotScore: 0.5 });
    expect(scores(s, pool, request('a'))).toEqual([0.9, 0.5]);
    expect(() => plugin('lora-affinity-scorer', pool, { activeScore: 2 })).toThrow(/activeScore must be <= 1/);
  });

  it('allFitFreeSlotScore: a free slot counts as the adapter itself while every reported adapter fits in the slots', () => {
    const pool = makePool([{ maxLora: 4 }, { maxLora: 4 }, { maxLora: 4 }]);
    const s = plugin<Scorer>('lora-affinity-scorer', pool, { freeSlotScore: 0.3, allFitFreeSlotScore: 1 });
    const [a, b, c] = pool.endpoints();
    // One adapter in 4 slots: loading it where it is not evicts nothing, so there is no pull.
    pool.recordMetrics(a, snapshot({ active: ['only'], maxLora: 4 }));
    pool.recordMetrics(b, snapshot({ maxLora: 4 }));
    pool.recordMetrics(c, snapshot({ active: ['x', 'y', 'z', 'w'], maxLora: 4 }));
    // The scrape of pod c taught five adapters in all: more than 4 slots, so a free slot is worth less again.
    expect(scores(s, pool, request('only'))).toEqual([1, 0.3, 0]);
    const fits = makePool([{ maxLora: 4 }, { maxLora: 4 }]);
    const t = plugin<Scorer>('lora-affinity-scorer', fits, { freeSlotScore: 0.3, allFitFreeSlotScore: 1 });
    const [d, e] = fits.endpoints();
    fits.recordMetrics(d, snapshot({ active: ['only'], maxLora: 4 }));
    fits.recordMetrics(e, snapshot({ maxLora: 4 }));
    expect(scores(t, fits, request('only'))).toEqual([1, 1]);
    // Unset, it is freeSlotScore: the Go EPP's scores.
    const u = plugin<Scorer>('lora-affinity-scorer', fits, { freeSlotScore: 0.3 });
    fits.recordMetrics(e, snapshot({ maxLora: 4 }));
    expect(scores(u, fits, request('only'))).toEqual([1, 0.3]);
  });

  it('recentScore: remembers where adapters were sent (likely still in a GPU slot), not the base model', () => {
    // Both pods have a full batch of other adapters; 'tail' ran once on pod-1 and is idle now.
    const pool = makePool([
      { active: ['x', 'y'], maxLora: 2 },
      { active: ['tail'], maxLora: 2 },
    ]);
    const s = plugin<Scorer & PreRequest>('lora-affinity-scorer', pool, { recentScore: 0.9 });
    const [a, b] = pool.endpoints();
    // Scrapes teach the scorer which model names are adapters.
    pool.recordMetrics(a, snapshot({ active: ['x', 'y'], maxLora: 2 }));
    pool.recordMetrics(b, snapshot({ active: ['tail'], maxLora: 2 }));
    const sent = (model: string, slot: number) => s.preRequest(cycle(pool, request(model)), Int32Array.of(slot), 1);
    sent('tail', b.slot);
    sent('base-model', b.slot); // never reported as an adapter: not remembered
    pool.recordMetrics(b, snapshot({ active: ['z', 'w'], maxLora: 2 }));
    expect(scores(s, pool, request('tail'))).toEqual([0, 0.9]);
    expect(scores(s, pool, request('base-model'))).toEqual([0, 0]);
    // Memory holds max_lora + 1 adapters per endpoint, most recent first.
    for (const m of ['x', 'y', 'z']) sent(m, b.slot);
    expect(scores(s, pool, request('tail'))).toEqual([0, 0]);
    // Off by default (the Go EPP's scores).
    expect(scores(plugin<Scorer>('lora-affinity-scorer', pool), pool, request('tail'))).toEqual([0, 0]);
  });

  it('fullBatchRecallScore: a remembered adapter is worth less where max_lora other adapters run (it waits for one to drain)', () => {
    const pool = makePool([
      { active: ['x'], maxLora: 2 },
      { active: ['z'], maxLora: 2 },
    ]);
    const params = { recentScore: 0.9, freeSlotScore: 0.3 };
    const s = plugin<Scorer & PreRequest>('lora-affinity-scorer', pool, { ...params, fullBatchRecallScore: 0.3 });
    const off = plugin<Scorer & PreRequest>('lora-affinity-scorer', pool, params);
    const [a, b] = pool.endpoints();
    // The scrapes name the served base model, so 'tail' counts as an adapter from its first request.
    const served = (m: Parameters<typeof snapshot>[0]) => ({ ...snapshot(m), servedModel: 'base' });
    pool.recordMetrics(a, served({ active: ['x'], maxLora: 2 }));
    pool.recordMetrics(b, served({ active: ['z'], maxLora: 2 }));
    for (const p of [s, off]) p.preRequest(cycle(pool, request('tail')), Int32Array.of(a.slot), 1);
    // One other adapter runs on pod-0: 'tail' may still sit in its second slot and can run.
    pool.recordMetrics(a, served({ active: ['x'], maxLora: 2 }));
    expect(scores(s, pool, request('tail'))).toEqual([0.9, 0.3]);
    // Two others run there now: 'tail' has left the GPU and waits until one drains.
    pool.recordMetrics(a, served({ active: ['x', 'y'], maxLora: 2 }));
    expect(scores(s, pool, request('tail'))).toEqual([0.3, 0.3]);
    expect(scores(off, pool, request('tail'))).toEqual([0.9, 0.3]);
    // Already waiting there: the Go EPP's waiting score, the higher of the two.
    pool.recordMetrics(a, served({ active: ['x', 'y'], waiting: ['tail'], maxLora: 2 }));
    expect(scores(s, pool, request('tail'))).toEqual([0.6, 0.3]);
    expect(() => plugin('lora-affinity-scorer', pool, { fullBatchRecallScore: 2 })).toThrow(/fullBatchRecallScore must be <= 1/);
  });

  it('kvYieldFrom: an endpoint whose KV cache its running requests fill loses its pull in proportion', () => {
    // Every pod runs the adapter; their caches are 50%, 90%, 95% and 100% held by running requests.
    const pool = makePool([
      { active: ['a'], maxLora: 2, kv: 0.5 },
      { active: ['a'], maxLora: 2, kv: 0.9 },
      { active: ['a'], maxLora: 2, kv: 0.95 },
      { active: ['a'], maxLora: 2, kv: 1 },
    ]);
    const s = plugin<Scorer>('lora-affinity-scorer', pool, { kvYieldFrom: 0.8 });
    // Scrapes teach the scorer which model names are adapters.
    for (const ep of pool.endpoints()) pool.recordMetrics(ep, { ...ep.metrics! });
    const got = scores(s, pool, request('a'));
    expect(got[0]).toBe(1);
    expect(got[1]).toBeCloseTo(0.5, 12);
    expect(got[2]).toBeCloseTo(0.25, 12);
    expect(got[3]).toBe(0);
    // The base model (any other name, once the scrapes name the served model) has no affinity to
    // yield: its free-slot scores stay.
    for (const ep of pool.endpoints()) pool.recordMetrics(ep, { ...ep.metrics!, servedModel: 'base' });
    expect(scores(s, pool, request('base'))).toEqual([0.8, 0.8, 0.8, 0.8]);
    expect(scores(s, pool, request('a'))[1]).toBeCloseTo(0.5, 12);
    // Off by default (the Go EPP's scores), and the threshold is validated.
    expect(scores(plugin<Scorer>('lora-affinity-scorer', pool), pool, request('a'))).toEqual([1, 1, 1, 1]);
    expect(() => plugin('lora-affinity-scorer', pool, { kvYieldFrom: 1 })).toThrow(/kvYieldFrom must be <= 0.99/);
  });

  it('protectHotAdapters: a free slot is worth less where filling it would evict an adapter hotter than the coldest one another candidate would evict', () => {
    // Pods a and b have free slots (nothing runs); pod c runs 'new' and 'x' (its scrape teaches them as adapters).
    const pool = makePool([{ maxLora: 2 }, { maxLora: 2 }, { maxLora: 2 }]);
    const s = plugin<Scorer & PreRequest>('lora-affinity-scorer', pool, { freeSlotScore: 0.5, protectHotAdapters: true, adapterHalfLife: 100 });
    const [a, b, c] = pool.endpoints();
    pool.recordMetrics(a, snapshot({ active: ['hot', 't1'], maxLora: 2 }));
    pool.recordMetrics(b, snapshot({ active: ['t2', 't3'], maxLora: 2 }));
    pool.recordMetrics(c, snapshot({ active: ['new', 'x'], maxLora: 2 }));
    const sent = (model: string, slot: number) => {
      scores(s, pool, request(model)); // each pick counts towards the adapter's share
      s.preRequest(cycle(pool, request(model)), Int32Array.of(slot), 1);
    };
    // 'hot' carries most of the traffic; its latest request on pod a is older than t1's.
    for (let i = 0; i < 20; i++) sent('hot', a.slot);
    sent('t1', a.slot);
    sent('t2', b.slot);
    sent('t3', b.slot);
    pool.recordMetrics(a, snapshot({ maxLora: 2 }));
    pool.recordMetrics(b, snapshot({ maxLora: 2 }));
    const [onA, onB, onC] = scores(s, pool, request('new'));
    expect(onC).toBe(1);
    // Pod b evicts the coldest victim on offer (t2): the whole free-slot score. Pod a's victim is
    // 'hot': (share(new) + share(t2)) / (share(new) + share(hot)) of it.
    expect(onB).toBe(0.5);
    expect(onA).toBeLessThan(onB / 4);
    expect(onA).toBeGreaterThan(0);
    // While 'hot' runs on pod a, the idle t1 would be evicted instead, a little colder than t2
    // (sent before it): pod a now keeps the whole score and pod b nearly all of it.
    pool.recordMetrics(a, snapshot({ active: ['hot'], maxLora: 2 }));
    const [again, bAgain] = scores(s, pool, request('new'));
    expect(again).toBe(0.5);
    expect(bAgain).toBeGreaterThan(0.45);
    expect(bAgain).toBeLessThan(0.5);
    // A pod with a slot never filled evicts nothing: the whole free-slot score.
    const fresh = makePool([{ maxLora: 2 }, { maxLora: 3 }]);
    const f = plugin<Scorer>('lora-affinity-scorer', fresh, { freeSlotScore: 0.5, protectHotAdapters: true });
    const [d, e] = fresh.endpoints();
    fresh.recordMetrics(d, snapshot({ active: ['x'], maxLora: 2 }));
    fresh.recordMetrics(e, snapshot({ active: ['new', 'y', 'z'], maxLora: 3 }));
    expect(scores(f, fresh, request('new'))).toEqual([0.5, 1]);
    // Off by default: the plain free-slot score everywhere.
    expect(scores(plugin<Scorer>('lora-affinity-scorer', pool, { freeSlotScore: 0.5 }), pool, request('new'))).toEqual([0.5, 0.5, 1]);
    expect(() => plugin('lora-affinity-scorer', pool, { protectHotAdapters: true, adapterHalfLife: 5 })).toThrow(/adapterHalfLife must be >= 10/);
    expect(() => plugin('lora-affinity-scorer', pool, { protectHotAdapters: 'yes' })).toThrow(/protectHotAdapters/);
  });

  it('baseModelNeutral: a model no scrape reported as an adapter (the base model) scores the same everywhere', () => {
    // Pod a has a free slot, pod b's slots are full: the Go EPP's scores pull a base-model
    // request towards a, though it needs no slot at all.
    const pool = makePool([{ active: ['x'], maxLora: 2 }, { active: ['y'], waiting: ['z'], maxLora: 2 }]);
    expect(scores(plugin<Scorer>('lora-affinity-scorer', pool), pool, request('base'))).toEqual([0.8, 0]);
    const s = plugin<Scorer>('lora-affinity-scorer', pool, { baseModelNeutral: true });
    const [a, b] = pool.endpoints();
    pool.recordMetrics(a, snapshot({ active: ['x'], maxLora: 2 }));
    pool.recordMetrics(b, snapshot({ active: ['y'], waiting: ['z'], maxLora: 2 }));
    expect(scores(s, pool, request('base'))).toEqual([0, 0]);
    // Adapters keep their scores.
    expect(scores(s, pool, request('x'))).toEqual([1, 0]);
    expect(scores(s, pool, request('z'))).toEqual([0.8, 0.6]);
  });

  it('follows every new scrape, a reused slot and the memory it evicts (what it derives is cached per scrape)', () => {
    const pool = makePool([{ active: ['a'], maxLora: 1 }, { active: ['b'], maxLora: 1 }]);
    const s = plugin<Scorer & PreRequest>('lora-affinity-scorer', pool, { recentScore: 0.9, recentSlots: 1 });
    const [p0, p1] = pool.endpoints();
    expect(scores(s, pool, request('a'))).toEqual([1, 0]);
    // The same model asked again after a scrape moved the adapter: the new scrape decides.
    pool.recordMetrics(p0, snapshot({ active: ['b'], maxLora: 1 }));
    pool.recordMetrics(p1, snapshot({ active: ['a'], maxLora: 1 }));
    expect(scores(s, pool, request('a'))).toEqual([0, 1]);
    // Remembered on p0 until the one-slot memory takes another adapter there.
    const sent = (model: string, slot: number) => s.preRequest(cycle(pool, request(model)), Int32Array.of(slot), 1);
    sent('a', p0.slot);
    expect(scores(s, pool, request('a'))).toEqual([0.9, 1]);
    sent('b', p0.slot);
    expect(scores(s, pool, request('a'))).toEqual([0, 1]);
    // A slot reused by a new endpoint starts from its own scrape and an empty memory.
    sent('a', p1.slot);
    pool.remove(p1.key);
    const p2 = pool.upsert({ name: 'pod-new', address: '192.168.1.9', port: 8000 });
    expect(p2.slot).toBe(p1.slot);
    expect(scores(s, pool, request('a'))).toEqual([0, 0]);
    pool.recordMetrics(p2, snapshot({ active: ['c'], maxLora: 2 }));
    expect(scores(s, pool, request('a'))).toEqual([0, 0.8]);
  });

  it('keeps a bounded number of per-model views whatever model names clients send', () => {
    const pool = makePool([{ active: ['a'], maxLora: 1 }]);
    const s = plugin<Scorer>('lora-affinity-scorer', pool);
    for (let i = 0; i < 1000; i++) expect(scores(s, pool, request(`m-${i}`))).toEqual([0]);
    expect(scores(s, pool, request('a'))).toEqual([1]);
  });
});
