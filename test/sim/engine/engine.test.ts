import { describe, expect, it } from 'vitest';
import { Engine } from '../../../src/sim/engine/engine.js';
import { LoraSlots } from '../../../src/sim/engine/lora-slots.js';
import { resolveProfile, type EngineProfile } from '../../../src/workload/engine-profile.js';
import { Rng } from '../../../src/util/random.js';
import { RequestState, SimRequest, type RequestSink } from '../../../src/sim/engine/request.js';
import { VirtualScheduler } from '../../../src/sim/engine/scheduler.js';
import { synthText, tokenize } from '../../../src/workload/tokenizer.js';

interface Trace {
  tokens: number[];
  finished: number;
  failed: string | null;
  calls: number;
}

/** Records every callback per request and checks KV invariants after every event. */
function harness(overrides: Partial<EngineProfile>) {
  const sched = new VirtualScheduler();
  const engine = new Engine(resolveProfile('llama-3.1-8b-h100', { apiOverheadUs: 0, apiOverheadPerTokenUs: 0, ...overrides }), sched);
  const traces = new Map<SimRequest, Trace>();
  const sink: RequestSink = {
    onToken(req, now) {
      traces.get(req)!.tokens.push(now);
    },
    onFinish(req, now) {
      const t = traces.get(req)!;
      t.finished = now;
      t.calls++;
    },
    onFail(req, reason) {
      const t = traces.get(req)!;
      t.failed = reason;
      t.calls++;
    },
  };
  function make(id: string, prompt: Int32Array, maxTokens: number, lora: string | null = null, seed = 1): SimRequest {
    const r = new SimRequest({ id, prompt, maxTokens, outputSeed: seed, lora, sink });
    traces.set(r, { tokens: [], finished: NaN, failed: null, calls: 0 });
    return r;
  }
  function checkInvariants(): void {
    const err = engine.pool.check();
    if (err !== null) throw new Error(err);
    let refs = 0;
    for (const r of engine.running) refs += r.blocks.length;
    let counted = 0;
    for (let b = 0; b < engine.pool.numBlocks; b++) counted += engine.pool.refCount[b];
    if (refs !== counted) throw new Error(`running requests hold ${refs} block refs, pool counts ${counted}`);
    if (engine.pool.usedCount > engine.pool.numBlocks) throw new Error('KV over capacity');
    for (const r of engine.running) {
      if (r.blocks.length * engine.profile.blockSize < r.computed) throw new Error(`${r.id} computed beyond its blocks`);
      if (r.output > r.maxTokens) throw new Error(`${r.id} overproduced`);
    }
  }
  function run(limit = 1e9): void {
    while (sched.peekTime() <= limit && sched.step()) checkInvariants();
  }
  return { sched, engine, traces, make, run };
}

function prompt(seed: number, tokens: number): Int32Array {
  return tokenize(synthText(seed, tokens));
}

describe('engine step cost', () => {
  it('charges c0 + prefill + KV read for the step that emits the first token, then one decode step per token', () => {
    const h = harness({ c0Us: 1000, cPrefillUs: 10, cDecodeUs: 100, cKvUs: 1 });
    const r = h.make('a', prompt(1, 100), 3);
    h.engine.submit(r);
    h.run();
    const t = h.traces.get(r)!;
    // Prefill step: 1000 + 10*100 + 1*100 = 2100 µs.
    expect(t.tokens[0]).toBeCloseTo(2.1, 9);
    // Decode steps: 1000 + 100*1 + 1*(context 101, then 102).
    expect(t.tokens[1] - t.tokens[0]).toBeCloseTo(1.201, 9);
    expect(t.tokens[2] - t.tokens[1]).toBeCloseTo(1.202, 9);
    expect(t.finished).toBe(t.tokens[2]);
    expect(r.state).toBe(RequestState.Finished);
  });

  it('chunks a long prompt under max_num_batched_tokens', () => {
    const h = harness({ c0Us: 1000, cPrefillUs: 1, cDecodeUs: 0, cKvUs: 0, maxNumBatchedTokens: 1000 });
    const r = h.make('long', prompt(2, 2500), 1);
    h.engine.submit(r);
    h.run();
    expect(h.engine.counters.steps).toBe(3);
    // Three steps of 1000 + 1000, 1000 + 1000, 1000 + 500 µs.
    expect(h.traces.get(r)!.tokens[0]).toBeCloseTo(5.5, 9);
  });

  it('runs two requests in one batch and slows the decode of the first while the second prefills', () => {
    const h = harness({ c0Us: 1000, cPrefillUs: 10, cDecodeUs: 0, cKvUs: 0 });
    const a = h.make('a', prompt(1, 50), 4);
    const b = h.make('b', prompt(2, 500), 1);
    h.engine.submit(a);
    h.sched.at(1.5, () => h.engine.submit(b));
    h.run();
    const ta = h.traces.get(a)!;
    // a: prefill step 1.5 ms; b arrives during it and joins the next step (a decode + b prefill).
    expect(ta.tokens[0]).toBeCloseTo(1.5, 9);
    expect(ta.tokens[1] - ta.tokens[0]).toBeCloseTo(1 + 5, 9);
    expect(h.traces.get(b)!.tokens[0]).toBeCloseTo(ta.tokens[1], 9);
  });
});

describe('prefix caching', () => {
  it('serves a repeated prompt from cached blocks and reports the hit tokens', () => {
    const h = harness({});
    const p = prompt(7, 200);
    const a = h.make('a', p, 2);
    h.engine.submit(a);
    h.run();
    const b = h.make('b', p, 2);
    h.engine.submit(b);
    h.run();
    expect(a.cachedTokens).toBe(0);
    // All full blocks except the one holding the last prompt token: floor(199/16)*16.
    expect(b.cachedTokens).toBe(192);
    expect(h.engine.counters.prefixHits).toBe(192);
    expect(h.engine.counters.prefixQueries).toBe(400);
  });

  it('does not share blocks across LoRA adapters', () => {
    const h = harness({});
    h.engine.loras.register('x', '/x');
    const p = prompt(7, 200);
    h.engine.submit(h.make('a', p, 1));
    h.run();
    const b = h.make('b', p, 1, 'x');
    h.engine.submit(b);
    h.run();
    expect(b.cachedTokens).toBe(0);
  });

  it('evicts least recently freed blocks first when the pool is full', () => {
    const h = harness({ numGpuBlocks: 30 });
    const p1 = prompt(1, 16 * 12);
    const p2 = prompt(2, 16 * 12);
    const p3 = prompt(3, 16 * 12);
    for (const [id, p] of [['a', p1], ['b', p2], ['c', p3]] as const) {
      h.engine.submit(h.make(id, p, 1));
      h.run();
    }
    // p1's blocks were freed first and got evicted to make room for p3; p2 is still cached.
    const again2 = h.make('b2', p2, 1);
    h.engine.submit(again2);
    h.run();
    const again1 = h.make('a2', p1, 1);
    h.engine.submit(again1);
    h.run();
    expect(again2.cachedTokens).toBe(16 * 11);
    expect(again1.cachedTokens).toBeLessThan(16 * 11);
  });
});

describe('preemption', () => {
  it('preempts the newest running request when blocks run out, recomputes it, and finishes everything', () => {
    // 40 blocks = 640 tokens; four requests of 100 prompt + 200 output tokens need 76 blocks in total.
    const h = harness({ numGpuBlocks: 40, enablePrefixCaching: false });
    const reqs = [0, 1, 2, 3].map((i) => h.make(`r${i}`, prompt(10 + i, 100), 200, null, i));
    for (const r of reqs) h.engine.submit(r);
    h.run();
    expect(h.engine.counters.preemptions).toBeGreaterThan(0);
    const preempted = reqs.filter((r) => r.preemptions > 0);
    expect(preempted.length).toBeGreaterThan(0);
    // The oldest request is never the victim.
    expect(reqs[0].preemptions).toBe(0);
    for (const r of reqs) {
      const t = h.traces.get(r)!;
      expect(r.state).toBe(RequestState.Finished);
      expect(t.tokens.length).toBe(200);
      expect(t.calls).toBe(1);
      for (let i = 1; i < t.tokens.length; i++) expect(t.tokens[i]).toBeGreaterThan(t.tokens[i - 1]);
    }
    // Recompute: more prefill work than the four prompts alone.
    expect(h.engine.counters.prefillTokens).toBeGreaterThan(400);
    expect(h.engine.pool.usedCount).toBe(0);
  });
});

describe('LoRA slots', () => {
  it('holds requests for a second adapter until the first frees its slot, and counts loads', () => {
    const h = harness({ maxLoras: 1, maxCpuLoras: 1, loraLoadMs: 5, loraColdLoadMs: 100 });
    h.engine.loras.register('a', '/a');
    h.engine.loras.register('b', '/b');
    const ra = h.make('ra', prompt(1, 50), 10, 'a');
    const rb = h.make('rb', prompt(2, 50), 10, 'b');
    h.engine.submit(ra);
    h.engine.submit(rb);
    h.run(0.001);
    expect(h.engine.state().runningAdapters).toEqual(['a']);
    expect(h.engine.state().waitingAdapters).toEqual(['b']);
    h.run();
    const ta = h.traces.get(ra)!;
    const tb = h.traces.get(rb)!;
    expect(tb.tokens[0]).toBeGreaterThan(ta.finished);
    expect(h.engine.loras.loads).toBe(2);
    expect(h.engine.loras.coldLoads).toBe(2);
    // The first step pays the 100 ms cold load.
    expect(ta.tokens[0]).toBeGreaterThan(100);
  });

  it('evicts the idle adapter that left the batch first, as vLLM touches every running adapter each step', () => {
    const make = (cpu: number) => {
      const slots = new LoraSlots(2, cpu, 5, 100);
      for (const a of ['a', 'b', 'c']) slots.register(a, `/${a}`);
      const start = (a: string) => {
        LoraSlots.bump(slots.runningCount, a, 1);
        return slots.activate(a);
      };
      return { slots, start };
    };
    // GPU slots: 'a' was admitted first but ran longer, so 'b' is the older idle one.
    const g = make(3);
    expect([g.start('a'), g.start('b')]).toEqual([100, 100]);
    g.slots.stopRunning('b');
    g.slots.stopRunning('a');
    expect(g.slots.resident()).toEqual(['b', 'a']);
    g.start('c');
    expect(g.slots.resident()).toEqual(['a', 'c']);
    // CPU cache of two: 'a' is its oldest entry but still running when 'c' loads, so the idle 'b'
    // leaves it; 'b' then comes back from storage (100 ms), not from the CPU cache (5 ms).
    const c = make(2);
    c.start('a');
    c.start('b');
    c.slots.stopRunning('b');
    c.start('c');
    expect(c.slots.resident()).toEqual(['a', 'c']);
    c.slots.stopRunning('a');
    c.slots.stopRunning('c');
    expect(c.start('b')).toBe(100);
    expect(c.slots.resident()).toEqual(['c', 'b']);
    expect(c.slots.loads).toBe(4);
  });

  it('rejects unknown adapters', () => {
    const h = harness({});
    expect(h.engine.validate(10, 10, 'nope')).toMatch(/does not exist/);
  });
});

describe('random workloads', () => {
  function randomRun(seed: number) {
    const h = harness({ numGpuBlocks: 300, maxNumSeqs: 16, maxNumBatchedTokens: 512, maxLoras: 2 });
    for (const a of ['l0', 'l1', 'l2']) h.engine.loras.register(a, `/${a}`);
    const rng = new Rng(seed);
    const reqs: SimRequest[] = [];
    const shared = [prompt(100, 300), prompt(101, 120)];
    let t = 0;
    for (let i = 0; i < 150; i++) {
      t += rng.exponential(20);
      const base = shared[rng.int(0, 1)];
      const q = prompt(1000 + i, rng.int(1, 400));
      const p = new Int32Array(base.length + q.length);
      p.set(base);
      p.set(q, base.length);
      const lora = rng.next() < 0.5 ? null : `l${rng.int(0, 2)}`;
      const r = h.make(`r${i}`, p, rng.int(1, 300), lora, i);
      reqs.push(r);
      h.sched.at(t, () => h.engine.submit(r));
      if (rng.next() < 0.05) h.sched.at(t + rng.exponential(200), () => h.engine.abort(r));
    }
    h.run();
    return { h, reqs };
  }

  it('keeps KV within capacity, conserves tokens and ends every request exactly once', () => {
    const { h, reqs } = randomRun(42);
    let produced = 0;
    for (const r of reqs) {
      const t = h.traces.get(r)!;
      produced += t.tokens.length;
      if (r.state === RequestState.Aborted) {
        expect(t.calls).toBe(0);
        expect(t.tokens.length).toBeLessThanOrEqual(r.maxTokens);
      } else {
        expect(r.state).toBe(RequestState.Finished);
        expect(t.calls).toBe(1);
        expect(t.tokens.length).toBe(r.maxTokens);
        expect(r.output).toBe(r.maxTokens);
      }
    }
    expect(h.engine.counters.generationTokens).toBe(produced);
    expect(h.engine.idle).toBe(true);
    expect(h.engine.pool.usedCount).toBe(0);
    expect(h.engine.loras.runningCount.size).toBe(0);
    expect(h.engine.loras.waitingCount.size).toBe(0);
    expect(h.engine.counters.preemptions).toBeGreaterThan(0);
    expect(h.engine.counters.prefixHits).toBeGreaterThan(0);
  });

  it('is deterministic for a fixed seed', () => {
    const a = randomRun(7);
    const b = randomRun(7);
    const times = (x: typeof a) => x.reqs.map((r) => [r.firstTokenAt, r.finishedAt, r.preemptions, r.cachedTokens]);
    expect(times(a)).toEqual(times(b));
    expect(a.h.engine.counters).toEqual(b.h.engine.counters);
    const c = randomRun(8);
    expect(times(c)).not.toEqual(times(a));
  });
});
