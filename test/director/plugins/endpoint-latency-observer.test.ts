/**
 * The endpoint latency observer: the moving average, its bounds and aging on a pool with a clock
 * the test moves; then the lifecycle-hook contract end to end: the real lifecycle, both front
 * doors with real pods (proxy through the official `openai` client, ext_proc through the Envoy
 * emulator replaying the pod's chunk timing), and the virtual-time scorecard.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBuiltinPlugins } from '../../../src/builtin-plugins.js';
import { EngineRegistry } from '../../../src/datalayer/engines.js';
import { buildLifecycleHooks } from '../../../src/director/build.js';
import type { FirstTokenObservation, LifecycleHook, ResponseObservation } from '../../../src/director/framework/lifecycle-hook.js';
import { Lifecycle } from '../../../src/director/lifecycle.js';
import { ENDPOINT_LATENCY_OBSERVER, EndpointLatencyObserver, LATENCY_OBSERVER_DEFAULTS } from '../../../src/director/plugins/endpoint-latency-observer/index.js';
import type { Plugin } from '../../../src/framework/plugin.js';
import type { Endpoint } from '../../../src/pool/endpoint.js';
import type { EndpointPool } from '../../../src/pool/pool.js';
import { parseConfig } from '../../../src/config/load.js';
import { directorRouter } from '../../../src/sim/scorecard/director-router.js';
import { runScorecard } from '../../../src/sim/scorecard/runner.js';
import { parseScenario } from '../../../src/workload/scenario.js';
import { observation } from '../../support/observation.js';
import { makePool, ManualClock, snapshot } from '../../support/pool.js';
import { eventually } from '../../support/extproc-harness.js';
import { startTwoDoors, type TwoDoors } from '../../support/two-doors.js';

const D = LATENCY_OBSERVER_DEFAULTS;

/** An observation of a streamed response on `ep`; fields overridable. */
function obs(ep: Endpoint, now: number, o: Partial<ResponseObservation> = {}): ResponseObservation {
  return observation(ep, {
    usage: { promptTokens: 10, completionTokens: 33, totalTokens: 43, cachedTokens: 0 },
    startedAt: now - 1000,
    dispatchedAt: now - 1000,
    firstByteAt: now - 640,
    lastByteAt: now,
    finishedAt: now,
    ttftMs: 360,
    tpotMs: 20,
    itlMs: 19,
    events: 35,
    ...o,
  });
}

function setup(params: Record<string, unknown> = {}): { pool: EndpointPool; clock: ManualClock; ep: Endpoint; o: EndpointLatencyObserver } {
  const clock = new ManualClock();
  const pool = makePool([{}, {}], clock);
  const o = registerBuiltinPlugins().create(ENDPOINT_LATENCY_OBSERVER, 'obs', params, { pool, rng: Math.random }) as EndpointLatencyObserver;
  return { pool, clock, ep: pool.endpoints()[0], o };
}

describe('endpoint-latency-observer: the estimate', () => {
  it('takes the first sample as the estimate, then moves alpha of the way per full-weight sample', () => {
    const { pool, clock, ep, o } = setup();
    o.responseComplete(obs(ep, clock.now()));
    expect(pool.signal.ttft[ep.slot]).toBe(360);
    expect(pool.signal.tpot[ep.slot]).toBe(20);
    clock.advance(100);
    o.responseComplete(obs(ep, clock.now(), { ttftMs: 860, tpotMs: 70 }));
    expect(pool.signal.ttft[ep.slot]).toBeCloseTo(360 + D.alpha * 500, 9);
    expect(pool.signal.tpot[ep.slot]).toBeCloseTo(20 + D.alpha * 50, 9);
    // The other endpoint saw nothing.
    expect(pool.signal.tpot[pool.endpoints()[1].slot]).toBe(0);
  });

  it('weighs a short stream less: 2 tokens move the estimate 1/fullWeightTokens as far', () => {
    const { pool, clock, ep, o } = setup();
    o.responseComplete(obs(ep, clock.now()));
    o.responseComplete(obs(ep, clock.now(), { tpotMs: 120, usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3, cachedTokens: 0 } }));
    expect(pool.signal.tpot[ep.slot]).toBeCloseTo(20 + ((D.alpha * 1) / D.fullWeightTokens) * 100, 9);
  });

  it('uses the SSE event gaps when the stream reported no usage', () => {
    const { pool, clock, ep, o } = setup();
    o.responseComplete(obs(ep, clock.now(), { usage: null, tpotMs: -1, itlMs: 25 }));
    expect(pool.signal.tpot[ep.slot]).toBe(25);
  });

  it('is not poisoned by a response without usage or timing, a plain body, or one stuck stream', () => {
    const { pool, clock, ep, o } = setup();
    o.responseComplete(obs(ep, clock.now()));
    // No usage, one buffered piece (no event timing), no first byte: no samples at all.
    o.responseComplete(obs(ep, clock.now(), { usage: null, tpotMs: -1, itlMs: -1, ttftMs: -1 }));
    o.responseComplete(obs(ep, clock.now(), { streamed: false, tpotMs: -1, itlMs: -1, ttftMs: -1, outcome: 'error', status: 500 }));
    expect(pool.signal.ttft[ep.slot]).toBe(360);
    expect(pool.signal.tpot[ep.slot]).toBe(20);
    // A stream stuck for ten minutes moves the estimate by alpha of the clamp, no further.
    o.responseComplete(obs(ep, clock.now(), { ttftMs: 600_000, tpotMs: 600_000 }));
    expect(pool.signal.tpot[ep.slot]).toBeCloseTo(20 + D.alpha * (D.maxTpotMs - 20), 9);
    expect(pool.signal.ttft[ep.slot]).toBeCloseTo(360 + D.alpha * (D.maxTtftMs - 360), 9);
    // Ordinary samples pull it back: after 40 of them it is within 0.5% of the true 20 ms.
    for (let i = 0; i < 40; i++) o.responseComplete(obs(ep, clock.now()));
    expect(Math.abs(pool.signal.tpot[ep.slot] - 20)).toBeLessThan(0.1);
  });

  it('ages: a scrape drops an estimate with no sample for maxAge, and the next sample starts afresh', () => {
    const { pool, clock, ep, o } = setup({ maxAge: '10s' });
    o.responseComplete(obs(ep, clock.now(), { tpotMs: 500 }));
    clock.advance(9_000);
    pool.recordMetrics(ep, snapshot({ q: 1 }));
    expect(pool.signal.tpot[ep.slot]).toBe(500); // a scrape keeps observed columns while fresh
    clock.advance(2_000);
    pool.recordMetrics(ep, snapshot({ q: 1 }));
    expect(pool.signal.tpot[ep.slot]).toBe(0);
    expect(pool.signal.ttft[ep.slot]).toBe(0);
    o.responseComplete(obs(ep, clock.now(), { tpotMs: 30 }));
    expect(pool.signal.tpot[ep.slot]).toBe(30);
    // A stale estimate is replaced even before a scrape noticed it.
    clock.advance(11_000);
    o.responseComplete(obs(ep, clock.now(), { tpotMs: 80 }));
    expect(pool.signal.tpot[ep.slot]).toBe(80);
  });

  it('ignores an endpoint that left the pool and starts a reused slot empty; grows with the pool', () => {
    const { pool, clock, ep, o } = setup();
    pool.remove(ep.key);
    o.responseComplete(obs(ep, clock.now()));
    const back = pool.upsert({ address: '10.9.9.9', port: 8000 });
    expect(back.slot).toBe(ep.slot);
    expect(pool.signal.tpot[back.slot]).toBe(0);
    let last = back;
    for (let i = 0; i < 40; i++) last = pool.upsert({ address: `10.8.0.${i + 1}`, port: 8000 });
    o.responseComplete(obs(last, clock.now(), { tpotMs: 42 }));
    expect(pool.signal.tpot[last.slot]).toBe(42);
  });

  it('fits first-token time against prefill work: fixed ms + ms per token, decayed, aged', () => {
    const { pool, clock, ep, o } = setup({ prefillAlpha: 0.5, maxAge: '10s' });
    const sig = pool.signal;
    // One sample, or samples whose work barely differs: a ratio through 0.
    o.responseComplete(obs(ep, clock.now(), { ttftMs: 120, prefillAhead: 0, prefillTokens: 1000 }));
    expect([sig.prefillMs[ep.slot], sig.prefillMsPerToken[ep.slot]]).toEqual([0, 0.12]);
    // Samples on the line 40 ms + 0.3 ms/token pull the fit to that line.
    for (const [ahead, own] of [[0, 500], [2000, 1000], [6000, 2000], [0, 100]]) {
      clock.advance(100);
      o.responseComplete(obs(ep, clock.now(), { ttftMs: 40 + 0.3 * (ahead + own), prefillAhead: ahead, prefillTokens: own }));
    }
    // (the first sample, 0.12 ms/token with no fixed part, is decayed to 1/16 of the weight)
    expect(sig.prefillMs[ep.slot]).toBeGreaterThan(30);
    expect(sig.prefillMsPerToken[ep.slot]).toBeCloseTo(0.3, 1);
    // Unknown work (the request moved on the way), no timing, or a plain body: no sample.
    const before = [sig.prefillMs[ep.slot], sig.prefillMsPerToken[ep.slot]];
    o.responseComplete(obs(ep, clock.now(), { ttftMs: 9_000, prefillAhead: -1, prefillTokens: 10 }));
    o.responseComplete(obs(ep, clock.now(), { ttftMs: -1, prefillAhead: 0, prefillTokens: 10 }));
    o.responseComplete(obs(ep, clock.now(), { ttftMs: 9_000 }));
    expect([sig.prefillMs[ep.slot], sig.prefillMsPerToken[ep.slot]]).toEqual(before);
    // A line that would need a negative cost per token is not believed: the ratio through 0 instead.
    const other = pool.endpoints()[1];
    o.responseComplete(obs(other, clock.now(), { ttftMs: 900, prefillAhead: 0, prefillTokens: 100 }));
    o.responseComplete(obs(other, clock.now(), { ttftMs: 100, prefillAhead: 0, prefillTokens: 4000 }));
    expect(sig.prefillMs[other.slot]).toBe(0);
    expect(sig.prefillMsPerToken[other.slot]).toBeCloseTo((0.5 * 900 + 100) / (0.5 * 100 + 4000), 12); // the older sample decayed to half
    // Aged like the other columns: a scrape after maxAge without samples forgets the fit.
    clock.advance(11_000);
    pool.recordMetrics(ep, snapshot({ q: 0 }));
    expect([sig.prefillMs[ep.slot], sig.prefillMsPerToken[ep.slot]]).toEqual([0, 0]);
    o.responseComplete(obs(ep, clock.now(), { ttftMs: 50, prefillAhead: 0, prefillTokens: 1000 }));
    expect(sig.prefillMsPerToken[ep.slot]).toBe(0.05);
  });

  it('validates its parameters', () => {
    expect(() => setup({ alpha: 0 })).toThrow(/alpha/);
    expect(() => setup({ maxAge: 'soon' })).toThrow(/maxAge/);
    expect(() => setup({ maxTpot: 0 })).toThrow(/maxTpot.*positive/);
    expect(() => setup({ fullWeightTokens: 0.5 })).toThrow(/fullWeightTokens/);
    expect(() => setup({ prefillAlpha: 2 })).toThrow(/prefillAlpha/);
    expect(() => setup({ prefillMinSpread: -1 })).toThrow(/prefillMinSpread/);
    const warnings: unknown[] = [];
    const pool = makePool([{}]);
    registerBuiltinPlugins().create(ENDPOINT_LATENCY_OBSERVER, 'o', { alhpa: 1 }, { pool, rng: Math.random }, warnings as never);
    expect(JSON.stringify(warnings)).toContain('SB_WARN_UNKNOWN_PARAMS');
  });

  it('observed signals cannot be mapped from a metrics page', () => {
    expect(() => new EngineRegistry([{ name: 'bad', signalSpecs: { tpot: 'my_tpot' } as never }])).toThrow(/signalSpecs\.tpot: unknown signal \(known: preemptions\)/);
  });
});

/** A lifecycle hook that keeps what it hears. */
class Recorder implements Plugin, LifecycleHook {
  readonly typedName = { type: 'test-recorder', name: 'test-recorder' };
  readonly seen: ResponseObservation[] = [];
  /** First tokens heard, with how many ends had been heard at that moment. */
  readonly firsts: Array<{ o: FirstTokenObservation; endsBefore: number }> = [];
  responseComplete(o: ResponseObservation): void {
    this.seen.push(o);
  }
  firstToken(o: FirstTokenObservation): void {
    this.firsts.push({ o, endsBefore: this.seen.length });
  }
}

function registryWith(recorder: Recorder) {
  return registerBuiltinPlugins().register('test-recorder', 'lifecycle', () => recorder);
}

describe('the lifecycle hook contract on the real lifecycle', () => {
  function lifecycle(pool: EndpointPool, hooks: LifecycleHook[], stream = true): Lifecycle {
    return new Lifecycle({
      requestId: 'req-1',
      pool,
      telemetry: null,
      endpoint: pool.endpoints()[0],
      tokens: 10,
      prefillTokens: 5,
      incomingModel: 'm',
      targetModel: 'm',
      priority: 0,
      stream,
      requestBytes: 50,
      startedAt: pool.clock.now(),
      retry: false,
      onFinish: null,
      hooks,
    });
  }

  it('reports TTFT from dispatch, TPOT from usage and the event gaps, once per attempt; a throwing hook harms nothing', () => {
    const clock = new ManualClock();
    const pool = makePool([{}], clock);
    const rec = new Recorder();
    const thrower: LifecycleHook = {
      responseComplete() {
        throw new Error('boom');
      },
    };
    const lc = lifecycle(pool, [thrower, rec]);
    lc.responseHeaders(200, 'text/event-stream');
    clock.advance(300);
    lc.responseBody(Buffer.from('data: {"choices":[{"text":"a"}]}\n\n'), false);
    for (let i = 0; i < 4; i++) {
      clock.advance(10);
      lc.responseBody(Buffer.from('data: {"choices":[{"text":"b"}]}\n\n'), false);
    }
    lc.responseBody(Buffer.from('data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}\n\ndata: [DONE]\n\n'), true);
    lc.finish('ok');
    lc.finish('ok');
    expect(rec.seen).toHaveLength(1);
    const o = rec.seen[0];
    expect(o).toMatchObject({ requestId: 'req-1', outcome: 'ok', status: 200, streamed: true, ttftMs: 300, tpotMs: 10, events: 7, errorCode: null });
    // Nothing was pending on the endpoint at dispatch; the request's own 5 prompt tokens were its work.
    expect(o).toMatchObject({ prefillAhead: 0, prefillTokens: 5 });
    expect(o.itlMs).toBeCloseTo(40 / 6, 9);
    expect(o.endpoint).toBe(pool.endpoints()[0]);
    expect(pool.inflight[o.endpoint.slot]).toBe(0);
  });

  it('reports the prefill this picker had pending on the endpoint at dispatch; unknown once the request moved', () => {
    const clock = new ManualClock();
    const pool = makePool([{}, {}], clock);
    const rec = new Recorder();
    const [first, second] = pool.endpoints();
    pool.addPrefill(first.slot, 700);
    const stays = lifecycle(pool, [rec]);
    const moves = lifecycle(pool, [rec]);
    expect(pool.pendingPrefill[first.slot]).toBe(710);
    moves.served(second.key);
    expect(pool.pendingPrefill[second.slot]).toBe(5);
    for (const lc of [stays, moves]) {
      lc.responseHeaders(200, 'text/event-stream');
      lc.responseBody(Buffer.from('data: {"choices":[{"text":"a"}]}\n\n'), false);
      lc.finish('ok');
    }
    expect(rec.seen.map((o) => [o.endpoint.name, o.prefillAhead, o.prefillTokens])).toEqual([
      [first.name, 700, 5],
      [second.name, -1, 5],
    ]);
    expect([pool.pendingPrefill[first.slot], pool.pendingPrefill[second.slot]]).toEqual([700, 0]);
  });

  it('tells hooks of a first token when it arrives, once, before the end; not for a plain body or an error status', () => {
    const clock = new ManualClock();
    const pool = makePool([{}], clock);
    const heard: FirstTokenObservation[] = [];
    const rec = new Recorder();
    const listener: LifecycleHook = { responseComplete() {}, firstToken: (o) => heard.push(o) };
    const thrower: LifecycleHook = {
      responseComplete() {},
      firstToken() {
        throw new Error('boom');
      },
    };
    pool.addPrefill(pool.endpoints()[0].slot, 40);
    const lc = lifecycle(pool, [thrower, listener, rec]);
    lc.responseHeaders(200, 'text/event-stream');
    clock.advance(250);
    lc.responseBody(Buffer.from('data: {"choices":[{"text":"a"}]}\n\n'), false);
    // Heard now, while the answer still streams.
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ requestId: 'req-1', ttftMs: 250, firstByteAt: heard[0].dispatchedAt + 250, prefillAhead: 40, prefillTokens: 5, targetModel: 'm' });
    expect(heard[0].endpoint).toBe(pool.endpoints()[0]);
    clock.advance(10);
    lc.responseBody(Buffer.from('data: {"choices":[{"text":"b"}]}\n\n'), false);
    lc.responseBody(Buffer.from('data: [DONE]\n\n'), true);
    lc.finish('ok');
    expect(heard).toHaveLength(1);
    expect(rec.seen[0]).toMatchObject({ ttftMs: 250, firstTokenReported: true });

    const plain = lifecycle(pool, [listener, rec], false);
    plain.responseHeaders(200, 'application/json');
    plain.responseBody(Buffer.from('{"choices":[{"text":"a"}]}'), true);
    plain.finish('ok');
    const failed = lifecycle(pool, [listener, rec]);
    failed.responseHeaders(500, 'text/event-stream');
    failed.responseBody(Buffer.from('data: {"error":"x"}\n\n'), true);
    failed.finish('ok');
    expect(heard).toHaveLength(1);
    expect(rec.seen.slice(1).map((o) => o.firstTokenReported)).toEqual([false, false]);
  });

  it('the observer knows an endpoint first-token time from the first token, not from the end of a long answer', () => {
    const clock = new ManualClock();
    const pool = makePool([{}], clock);
    const o = registerBuiltinPlugins().create(ENDPOINT_LATENCY_OBSERVER, 'obs', {}, { pool, rng: Math.random }) as EndpointLatencyObserver;
    const slot = pool.endpoints()[0].slot;
    const lc = lifecycle(pool, [o]);
    lc.responseHeaders(200, 'text/event-stream');
    clock.advance(400);
    lc.responseBody(Buffer.from('data: {"choices":[{"text":"a"}]}\n\n'), false);
    expect(pool.signal.ttft[slot]).toBe(400);
    // 5 tokens of prefill work took 400 ms: one sample, so the line goes through 0.
    expect(pool.signal.prefillMsPerToken[slot]).toBeCloseTo(80, 9);
    clock.advance(1_500);
    lc.responseBody(Buffer.from('data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\ndata: [DONE]\n\n'), true);
    lc.finish('ok');
    // The end adds the TPOT sample only: the first-token time was not counted twice.
    expect(pool.signal.ttft[slot]).toBe(400);
    expect(pool.signal.tpot[slot]).toBe(1_500);
    const lc2 = lifecycle(pool, [o]);
    lc2.responseHeaders(200, 'text/event-stream');
    clock.advance(900);
    lc2.responseBody(Buffer.from('data: {"choices":[{"text":"a"}]}\n\n'), false);
    expect(pool.signal.ttft[slot]).toBeCloseTo(400 + D.alpha * 500, 9);
    lc2.finish('ok');
    expect(pool.signal.ttft[slot]).toBeCloseTo(400 + D.alpha * 500, 9);
  });

  it('a stream delivered in one piece without usage carries no timing', () => {
    const clock = new ManualClock();
    const pool = makePool([{}], clock);
    const rec = new Recorder();
    const lc = lifecycle(pool, [rec]);
    lc.responseHeaders(200, 'text/event-stream');
    clock.advance(50);
    lc.responseBody(Buffer.from('data: {"choices":[{"text":"a"}]}\n\ndata: {"choices":[{"text":"b"}]}\n\ndata: [DONE]\n\n'), true);
    lc.finish('ok');
    expect(rec.seen[0]).toMatchObject({ ttftMs: 50, tpotMs: -1, itlMs: -1, usage: null });
  });

  it('the default observer is filled in unless one is declared', () => {
    const pool = makePool([{}]);
    const registry = registerBuiltinPlugins();
    const handle = { pool, rng: Math.random };
    const dflt = buildLifecycleHooks(new Map(), registry, handle);
    expect(dflt.map((h) => (h as unknown as Plugin).typedName.type)).toEqual([ENDPOINT_LATENCY_OBSERVER]);
    const mine = registry.create(ENDPOINT_LATENCY_OBSERVER, 'mine', { alpha: 0.5 }, handle);
    const declared = buildLifecycleHooks(new Map([['mine', mine]]), registry, handle);
    expect(declared).toEqual([mine]);
  });
});

const RECORDER_CONFIG = `
apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: test-recorder
`;

describe('both front doors feed the hooks and the columns (real pods, real servers)', () => {
  let td: TwoDoors;
  const rec = new Recorder();

  beforeAll(async () => {
    td = await startTwoDoors({
      pods: 2,
      pod: { chunks: 6, chunkDelayMs: 5 },
      config: RECORDER_CONFIG,
      registry: registryWith(rec),
      emulator: { keepChunkTiming: true },
    });
  });
  afterAll(async () => td?.close());

  const columns = (key: string) => {
    const ep = td.core.pool.get(key)!;
    return { ttft: td.core.pool.signal.ttft[ep.slot], tpot: td.core.pool.signal.tpot[ep.slot] };
  };

  it('proxy: a streamed answer with usage gives the serving endpoint TTFT and TPOT', async () => {
    rec.seen.length = 0;
    rec.firsts.length = 0;
    const client = new OpenAI({ baseURL: `${td.proxyUrl}/v1`, apiKey: 'test', maxRetries: 0 });
    const stream = await client.completions.create({ model: 'base-model', prompt: 'hello there', stream: true, stream_options: { include_usage: true } });
    let usage = 0;
    for await (const c of stream) usage = c.usage?.completion_tokens ?? usage;
    expect(usage).toBe(6);
    await eventually(() => rec.seen.length === 1);
    const o = rec.seen[0];
    expect(o.outcome).toBe('ok');
    expect(o.usage?.completionTokens).toBe(6);
    expect(o.ttftMs).toBeGreaterThanOrEqual(0);
    expect(o.tpotMs).toBeGreaterThan(0);
    expect(o.firstByteAt).toBeLessThan(o.lastByteAt);
    expect(td.pods.map((p) => p.key)).toContain(o.endpoint.key);
    expect(columns(o.endpoint.key).tpot).toBe(o.tpotMs);
    expect(columns(o.endpoint.key).ttft).toBe(o.ttftMs);
    // The first token was heard on its own, before the end, with the same first-token time.
    expect(rec.firsts).toHaveLength(1);
    expect(rec.firsts[0].endsBefore).toBe(0);
    expect(rec.firsts[0].o.ttftMs).toBe(o.ttftMs);
    expect(rec.firsts[0].o.endpoint).toBe(o.endpoint);
    expect(o.firstTokenReported).toBe(true);
  });

  it('ext_proc: the response phase feeds the same hooks', async () => {
    rec.seen.length = 0;
    rec.firsts.length = 0;
    const body = JSON.stringify({ model: 'base-model', prompt: 'hello ext_proc', stream: true, stream_options: { include_usage: true } });
    const res = await td.emulator.send({ path: '/v1/completions', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    await eventually(() => rec.seen.length === 1); // the stream's end reaches the server after the reply
    const o = rec.seen[0];
    expect(o.endpoint.key).toBe(res.endpoint);
    expect(rec.firsts).toHaveLength(1);
    expect(rec.firsts[0].endsBefore).toBe(0);
    expect(rec.firsts[0].o.ttftMs).toBe(o.ttftMs);
    expect(o.firstTokenReported).toBe(true);
    expect(o.usage?.completionTokens).toBe(6);
    expect(o.tpotMs).toBeGreaterThan(0);
    expect(o.itlMs).toBeGreaterThan(0);
    expect(columns(o.endpoint.key).tpot).toBeGreaterThan(0);
  });

  it('ext_proc: a stream without usage still gives an ITL-based estimate, a plain body none', async () => {
    rec.seen.length = 0;
    const stream = JSON.stringify({ model: 'base-model', prompt: 'no usage', stream: true });
    const plain = JSON.stringify({ model: 'base-model', prompt: 'plain' });
    await td.emulator.send({ path: '/v1/completions', headers: { 'content-type': 'application/json' }, body: stream });
    await td.emulator.send({ path: '/v1/completions', headers: { 'content-type': 'application/json' }, body: plain });
    await eventually(() => rec.seen.length === 2);
    expect(rec.seen[0]).toMatchObject({ usage: null, tpotMs: -1, streamed: true });
    expect(rec.seen[0].itlMs).toBeGreaterThan(0);
    expect(rec.seen[1]).toMatchObject({ streamed: false, ttftMs: -1, tpotMs: -1, itlMs: -1 });
    expect(rec.seen[1].usage?.completionTokens).toBe(6);
  });
});

describe('the virtual-time scorecard feeds the hooks', () => {
  it('observes every request with the simulated TTFT and TPOT', async () => {
    const scenario = parseScenario(`
name: hook-scorecard
seed: 3
fleet: { pods: 2 }
workload: { input: 200, output: 17 }
arrivals: { process: constant, stages: [ { rate: 10, duration: 2 } ] }
`);
    const rec = new Recorder();
    const registry = registryWith(rec);
    const run = await runScorecard(scenario, (ctx) => directorRouter('hooked', parseConfig(RECORDER_CONFIG, 'test'), ctx, { registry }));
    const ok = run.records.filter((r) => r.ok);
    expect(ok.length).toBeGreaterThan(10);
    expect(rec.seen).toHaveLength(run.records.length);
    const byId = new Map(rec.seen.map((o) => [o.requestId.split('#')[0], o]));
    const firstById = new Map(rec.firsts.map((f) => [f.o.requestId.split('#')[0], f]));
    for (const r of ok) {
      const o = byId.get(r.id)!;
      expect(o.usage?.completionTokens).toBe(r.outputTokens);
      expect(o.ttftMs).toBeCloseTo(r.firstToken - r.start, 6);
      expect(o.tpotMs).toBeCloseTo((o.lastByteAt - r.firstToken) / (r.outputTokens - 1), 6);
      // Heard at the simulated first token, a whole decode before the end.
      const first = firstById.get(r.id)!;
      expect(first.o.ttftMs).toBeCloseTo(r.firstToken - r.start, 6);
      expect(first.o.firstByteAt).toBeLessThan(o.finishedAt);
    }

  });
});
