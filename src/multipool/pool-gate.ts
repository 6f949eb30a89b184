/**
 * One pool's state as the spillover policy sees it: available (endpoints whose last scrape
 * succeeded and is fresh), saturated (its detector over those endpoints, with hysteresis), and
 * ramping (it came back after being unavailable and regains its traffic gradually).
 *
 * Evaluated on each request from columns the scrape loop already wrote: no I/O, no allocation.
 */
import type { EndpointPool } from '../pool/pool.js';
import type { SaturationDetector } from '../scheduling/framework/saturation-detector.js';

/** A pool's state for one request. */
export type PoolState = 'ok' | 'saturated' | 'no_endpoints' | 'unhealthy';

export interface PoolGateOptions {
  /** Saturated from this detector reading on. */
  enterSaturation: number;
  /** Back to taking traffic below this reading (<= enter). */
  exitSaturation: number;
  /** After a return, the pool's share grows linearly to all of it over this many ms; 0 = at once. */
  rampUpMs: number;
  /** Metrics older than this (ms) do not make an endpoint available. */
  stalenessMs: number;
}

/**
 * Smallest share a returning pool gets at the start of its ramp: it must see some traffic for
 * its scrapes to show how it copes.
 */
const RAMP_FLOOR = 0.05;

export class PoolGate {
  private isSaturated = false;
  private isAvailable = false;
  private everAvailable = false;
  private rampStart = -Infinity;
  private credit = 0;
  private lastSaturation = 0;
  private slots: Int32Array;

  constructor(
    readonly pool: EndpointPool,
    private readonly detector: SaturationDetector,
    private readonly o: PoolGateOptions,
  ) {
    this.slots = new Int32Array(pool.capacity);
  }

  /** The pool's state at clock time `now`; updates the hysteresis and the ramp. */
  evaluate(now: number): PoolState {
    const pool = this.pool;
    if (pool.size === 0) {
      this.isAvailable = false;
      return 'no_endpoints';
    }
    if (this.slots.length < pool.capacity) this.slots = new Int32Array(pool.capacity);
    const slots = this.slots;
    let n = 0;
    const eps = pool.endpoints();
    for (let i = 0; i < eps.length; i++) {
      const ep = eps[i];
      // The latest scrape failed (a dead pod refuses it at once) or is too old: not a place to send work.
      if (ep.health.ok && pool.isFresh(ep.slot, now, this.o.stalenessMs)) slots[n++] = ep.slot;
    }
    if (n === 0) {
      this.isAvailable = false;
      return 'unhealthy';
    }
    if (!this.isAvailable) {
      this.isAvailable = true;
      // A return (not the first sync) ramps: the whole spilled load at once would be a thundering herd.
      if (this.everAvailable) {
        this.rampStart = now;
        this.credit = 0;
      }
      this.everAvailable = true;
    }
    const sat = this.detector.saturation(pool, slots, n, now);
    this.lastSaturation = sat;
    if (this.isSaturated ? sat < this.o.exitSaturation : sat >= this.o.enterSaturation) this.isSaturated = !this.isSaturated;
    return this.isSaturated ? 'saturated' : 'ok';
  }

  /**
   * Whether a request this pool could take goes to it now. While ramping after a return, a
   * deterministic credit lets through the ramp's share of them (no random flapping between
   * replicas of a test); otherwise always.
   */
  takes(now: number): boolean {
    const f = this.rampShare(now);
    if (f >= 1) return true;
    this.credit += f;
    if (this.credit >= 1) {
      this.credit -= 1;
      return true;
    }
    return false;
  }

  /** Share of its traffic the pool gets back at `now` (1 when not ramping). */
  rampShare(now: number): number {
    if (this.o.rampUpMs <= 0) return 1;
    const f = (now - this.rampStart) / this.o.rampUpMs;
    return f >= 1 ? 1 : f < RAMP_FLOOR ? RAMP_FLOOR : f;
  }

  /** The detector's last reading. */
  saturation(): number {
    return this.lastSaturation;
  }

  saturated(): boolean {
    return this.isSaturated;
  }

  available(): boolean {
    return this.isAvailable;
  }
}
