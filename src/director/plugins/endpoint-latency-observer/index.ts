/** `endpoint-latency-observer`: per-endpoint TTFT and TPOT from the responses both doors see. See README.md. */
import type { Plugin, TypedName } from '../../../framework/plugin.js';
import type { Factory } from '../../../framework/plugin.js';
import type { EndpointPool } from '../../../pool/pool.js';
import type { FirstTokenObservation, LifecycleHook, ResponseObservation } from '../../framework/lifecycle-hook.js';

export const ENDPOINT_LATENCY_OBSERVER = 'endpoint-latency-observer';

/** Numbers per slot in the prefill-cost fit: weight, Σx, Σy, Σx², Σxy. */
const FIT = 5;

/** Settings of the observer (the factory's parameters). */
export interface LatencyObserverOptions {
  /** Weight of one full-weight sample in the moving average, (0, 1]. */
  alpha: number;
  /** An estimate with no sample for this long is dropped (0 = unknown), ms. */
  maxAgeMs: number;
  /** Samples are clamped to these, ms: one stuck stream moves the estimate a bounded step. */
  maxTtftMs: number;
  maxTpotMs: number;
  /** Output tokens for a TPOT sample's full weight; shorter streams weigh proportionally less. */
  fullWeightTokens: number;
  /** Weight of the newest sample in the prefill-cost fit, (0, 1]: older samples decay by 1 - this. */
  prefillAlpha: number;
  /** Spread of prefill work (tokens, standard deviation) below which the fit is a ratio through 0. */
  prefillMinSpread: number;
}

export const LATENCY_OBSERVER_DEFAULTS: Readonly<LatencyObserverOptions> = Object.freeze({
  alpha: 0.2,
  maxAgeMs: 30_000,
  maxTtftMs: 60_000,
  maxTpotMs: 2_000,
  fullWeightTokens: 16,
  prefillAlpha: 0.1,
  prefillMinSpread: 256,
});

/**
 * Writes the pool's observed `ttft` and `tpot` columns. O(1) per response, nothing allocated:
 * per-slot sample times live in two typed arrays grown with the pool.
 */
export class EndpointLatencyObserver implements Plugin, LifecycleHook {
  readonly typedName: TypedName;
  private ttftAt = new Float64Array(0);
  private tpotAt = new Float64Array(0);
  // Decayed sums of the prefill-cost fit (x: tokens of work, y: TTFT ms), per slot.
  private fit = new Float64Array(0);
  private fitAt = new Float64Array(0);

  constructor(
    name: string,
    private readonly pool: EndpointPool,
    private readonly o: LatencyObserverOptions = LATENCY_OBSERVER_DEFAULTS,
  ) {
    this.typedName = Object.freeze({ type: ENDPOINT_LATENCY_OBSERVER, name });
    // Aging runs off the pick: each scrape of an endpoint drops its estimates gone stale.
    pool.onMetrics((ep) => this.expire(ep.slot, pool.clock.now()));
  }

  /** The first token's time is a TTFT sample (and a prefill-cost one) now, not when the answer ends. */
  firstToken(obs: FirstTokenObservation): void {
    const ep = obs.endpoint;
    const pool = this.pool;
    if (pool.atSlot(ep.slot) !== ep || !(obs.ttftMs >= 0)) return;
    this.ensure(pool.capacity);
    this.sampleFirstToken(ep.slot, obs.ttftMs, obs.prefillAhead, obs.prefillTokens, obs.firstByteAt);
  }

  responseComplete(obs: ResponseObservation): void {
    const ep = obs.endpoint;
    const pool = this.pool;
    if (pool.atSlot(ep.slot) !== ep) return; // left the pool while the response streamed
    this.ensure(pool.capacity);
    const o = this.o;
    const now = obs.finishedAt;
    if (obs.ttftMs >= 0 && obs.firstTokenReported !== true && obs.status < 400) this.sampleFirstToken(ep.slot, obs.ttftMs, obs.prefillAhead ?? -1, obs.prefillTokens ?? 0, now);
    // A plain body has no first-token time, but it shows the endpoint answers.
    else if (!obs.streamed && obs.outcome === 'ok' && obs.status > 0 && obs.status < 400) pool.signal.answers[ep.slot]++;
    // Usage gives exact token counts; without it the SSE event gaps are the estimate.
    let tpot = -1;
    let tokens = 0;
    if (obs.tpotMs >= 0 && obs.usage !== null) {
      tpot = obs.tpotMs;
      tokens = obs.usage.completionTokens;
    } else if (obs.itlMs >= 0) {
      tpot = obs.itlMs;
      tokens = obs.events;
    }
    if (tpot < 0) return;
    const weight = o.alpha * Math.min(1, (tokens - 1) / o.fullWeightTokens);
    this.update(pool.signal.tpot, this.tpotAt, ep.slot, Math.min(tpot, o.maxTpotMs), weight, now);
  }

  /** A first token: one answer, one TTFT sample and, when the work ahead is known, one prefill-cost sample. */
  private sampleFirstToken(slot: number, ttftMs: number, ahead: number, own: number, now: number): void {
    const ttft = Math.min(ttftMs, this.o.maxTtftMs);
    this.pool.signal.answers[slot]++;
    this.update(this.pool.signal.ttft, this.ttftAt, slot, ttft, this.o.alpha, now);
    if (ahead >= 0) this.fitPrefill(slot, ahead + own, ttft, now);
  }

  /** Drops `slot`'s estimates whose latest sample is older than `maxAgeMs`. */
  expire(slot: number, now: number): void {
    if (slot >= this.ttftAt.length) return;
    const pool = this.pool;
    if (now - this.ttftAt[slot] > this.o.maxAgeMs) pool.signal.ttft[slot] = 0;
    if (now - this.tpotAt[slot] > this.o.maxAgeMs) pool.signal.tpot[slot] = 0;
    if (now - this.fitAt[slot] > this.o.maxAgeMs) {
      pool.signal.prefillMs[slot] = 0;
      pool.signal.prefillMsPerToken[slot] = 0;
      this.fit.fill(0, slot * FIT, slot * FIT + FIT);
    }
  }

  /**
   * One sample of the endpoint's first-token cost: `work` tokens of prefill (this picker's own
   * pending work at dispatch plus the request's uncached prompt) took `ttft` ms. A decayed
   * least-squares line through the samples gives a fixed part and a cost per token; while the
   * samples' work barely differs, the line goes through 0 (cost = sum of times / sum of work).
   */
  private fitPrefill(slot: number, work: number, ttft: number, now: number): void {
    const f = this.fit;
    const i = slot * FIT;
    const keep = now - this.fitAt[slot] > this.o.maxAgeMs ? 0 : 1 - this.o.prefillAlpha;
    f[i] = f[i] * keep + 1;
    f[i + 1] = f[i + 1] * keep + work;
    f[i + 2] = f[i + 2] * keep + ttft;
    f[i + 3] = f[i + 3] * keep + work * work;
    f[i + 4] = f[i + 4] * keep + work * ttft;
    this.fitAt[slot] = now;
    const w = f[i], mx = f[i + 1] / w, my = f[i + 2] / w;
    const vx = f[i + 3] / w - mx * mx;
    const spread = this.o.prefillMinSpread;
    let slope = -1;
    if (vx > spread * spread) slope = (f[i + 4] / w - mx * my) / vx;
    let base = my - slope * mx;
    if (slope < 0 || base < 0) {
      slope = mx > 0 ? my / mx : 0;
      base = mx > 0 ? 0 : my;
    }
    this.pool.signal.prefillMs[slot] = base;
    this.pool.signal.prefillMsPerToken[slot] = slope;
  }

  private update(col: Float64Array, at: Float64Array, slot: number, v: number, weight: number, now: number): void {
    // Without recent evidence the sample is the estimate; otherwise it moves it a bounded step.
    if (col[slot] === 0 || now - at[slot] > this.o.maxAgeMs) col[slot] = v;
    else col[slot] += weight * (v - col[slot]);
    at[slot] = now;
  }

  private ensure(capacity: number): void {
    if (this.ttftAt.length >= capacity) return;
    const grow = (a: Float64Array) => {
      const b = new Float64Array(capacity).fill(-Infinity);
      b.set(a);
      return b;
    };
    this.ttftAt = grow(this.ttftAt);
    this.tpotAt = grow(this.tpotAt);
    this.fitAt = grow(this.fitAt);
    const fit = new Float64Array(capacity * FIT);
    fit.set(this.fit);
    this.fit = fit;
  }
}

/** Factory: validates the parameters (see README.md). */
export const endpointLatencyObserver: Factory<EndpointLatencyObserver> = (name, p, { pool }) => {
  const d = LATENCY_OBSERVER_DEFAULTS;
  const alpha = p.number('alpha', d.alpha, { min: 0.001, max: 1 });
  const maxAgeMs = p.durationMs('maxAge', d.maxAgeMs);
  const maxTtftMs = p.durationMs('maxTtft', d.maxTtftMs);
  const maxTpotMs = p.durationMs('maxTpot', d.maxTpotMs);
  const fullWeightTokens = p.number('fullWeightTokens', d.fullWeightTokens, { min: 1, integer: true });
  const prefillAlpha = p.number('prefillAlpha', d.prefillAlpha, { min: 0.001, max: 1 });
  const prefillMinSpread = p.number('prefillMinSpread', d.prefillMinSpread, { min: 0 });
  for (const [k, v] of [['maxAge', maxAgeMs], ['maxTtft', maxTtftMs], ['maxTpot', maxTpotMs]] as const) if (!(v > 0)) p.fail(k, 'must be positive');
  return new EndpointLatencyObserver(name, pool, { alpha, maxAgeMs, maxTtftMs, maxTpotMs, fullWeightTokens, prefillAlpha, prefillMinSpread });
};
