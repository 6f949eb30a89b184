/** `endpoint-latency-observer`: per-endpoint TTFT and TPOT from the responses both doors see. See README.md. */
import type { Plugin, TypedName } from '../../../framework/plugin.js';
import type { Factory } from '../../../framework/plugin.js';
import type { EndpointPool } from '../../../pool/pool.js';
import type { LifecycleHook, ResponseObservation } from '../../framework/lifecycle-hook.js';

export const ENDPOINT_LATENCY_OBSERVER = 'endpoint-latency-observer';

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
}

export const LATENCY_OBSERVER_DEFAULTS: Readonly<LatencyObserverOptions> = Object.freeze({
  alpha: 0.2,
  maxAgeMs: 30_000,
  maxTtftMs: 60_000,
  maxTpotMs: 2_000,
  fullWeightTokens: 16,
});

/**
 * Writes the pool's observed `ttft` and `tpot` columns. O(1) per response, nothing allocated:
 * per-slot sample times live in two typed arrays grown with the pool.
 */
export class EndpointLatencyObserver implements Plugin, LifecycleHook {
  readonly typedName: TypedName;
  private ttftAt = new Float64Array(0);
  private tpotAt = new Float64Array(0);

  constructor(
    name: string,
    private readonly pool: EndpointPool,
    private readonly o: LatencyObserverOptions = LATENCY_OBSERVER_DEFAULTS,
  ) {
    this.typedName = Object.freeze({ type: ENDPOINT_LATENCY_OBSERVER, name });
    // Aging runs off the pick: each scrape of an endpoint drops its estimates gone stale.
    pool.onMetrics((ep) => this.expire(ep.slot, pool.clock.now()));
  }

  responseComplete(obs: ResponseObservation): void {
    const ep = obs.endpoint;
    const pool = this.pool;
    if (pool.atSlot(ep.slot) !== ep) return; // left the pool while the response streamed
    this.ensure(pool.capacity);
    const o = this.o;
    const now = obs.finishedAt;
    if (obs.ttftMs >= 0) this.update(pool.signal.ttft, this.ttftAt, ep.slot, Math.min(obs.ttftMs, o.maxTtftMs), o.alpha, now);
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

  /** Drops `slot`'s estimates whose latest sample is older than `maxAgeMs`. */
  expire(slot: number, now: number): void {
    if (slot >= this.ttftAt.length) return;
    const pool = this.pool;
    if (now - this.ttftAt[slot] > this.o.maxAgeMs) pool.signal.ttft[slot] = 0;
    if (now - this.tpotAt[slot] > this.o.maxAgeMs) pool.signal.tpot[slot] = 0;
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
  for (const [k, v] of [['maxAge', maxAgeMs], ['maxTtft', maxTtftMs], ['maxTpot', maxTpotMs]] as const) if (!(v > 0)) p.fail(k, 'must be positive');
  return new EndpointLatencyObserver(name, pool, { alpha, maxAgeMs, maxTtftMs, maxTpotMs, fullWeightTokens });
};
