/**
 * Flow control (the Go EPP's `flowControl` feature): while the pool is saturated, requests wait
 * here instead of piling onto model servers, and leave in policy order when capacity returns.
 *
 * - Strict priority between bands; inside a band the fairness policy picks the flow and the
 *   ordering policy the request (see priority-band.ts, flow-queue.ts).
 * - Limits per band and overall, in requests and bytes: over them a request gets 429.
 * - A request waits at most the TTL (503), and leaves at once when its client goes away (503).
 * - Late binding: admission resolves when the request leaves the queue and the director
 *   schedules it then, on fresh state.
 * - No polling: dispatch is re-checked when a request arrives, when a routed request finishes,
 *   when an endpoint's metrics are recorded, and by one timer (the earliest TTL or the re-check
 *   interval, whichever is sooner) while anything is queued.
 *
 * Requests released from the queue are not yet on any endpoint (the director schedules them in
 * the microtasks that follow), so the saturation check counts them as pending until the director
 * reports them placed; otherwise one cycle would flush the whole queue onto pods that looked idle.
 */
import type { FlowControlSpec, PriorityBandSpec } from '../config/types.js';
import { sbError, type SwitchboardError } from '../errors.js';
import type { EndpointPool } from '../pool/pool.js';
import type { SaturationDetector } from '../scheduling/framework/saturation-detector.js';
import { isSheddable, saturationOf } from './admission.js';
import type { AdmissionGate, AdmissionRequest, AdmissionVerdict } from './framework/gate.js';
import { QueuedRequest, type FlowControlObserver, type FlowPolicies, type QueueOutcome } from './framework/flow.js';

export type { FlowControlObserver, FlowPolicies, QueueOutcome } from './framework/flow.js';
import { PriorityBand } from './priority-band.js';
import type { Timers } from './timers.js';

/** What the controller works with. */
export interface FlowControllerOptions {
  pool: EndpointPool;
  detector: SaturationDetector;
  spec: FlowControlSpec;
  timers: Timers;
  observer?: FlowControlObserver | null;
  /** The policy plugins a band's `fairnessPolicyRef` / `orderingPolicyRef` name (resolved at start). */
  policies: FlowPolicies;
}

export class FlowController implements AdmissionGate {
  private readonly pool: EndpointPool;
  private readonly detector: SaturationDetector;
  private readonly spec: FlowControlSpec;
  private readonly timers: Timers;
  private readonly observer: FlowControlObserver | null;
  /** Bands by priority, highest first. */
  private readonly bands: PriorityBand[] = [];
  private readonly byPriority = new Map<number, PriorityBand>();
  private queuedRequests = 0;
  private queuedBytes = 0;
  private seq = 0;
  /** Queued requests in arrival order, for TTL expiry (one TTL for all, so deadlines ascend). */
  private expiry: QueuedRequest[] = [];
  private expiryHead = 0;
  /** Released from the queue, not yet placed by the director. */
  private readonly released = new Set<AdmissionRequest>();
  private pendingRequests = 0;
  private pendingTokens = 0;
  private pendingReset = false;
  private timer: unknown = null;
  private timerAt = Infinity;
  private dispatching = false;
  private readonly policies: FlowPolicies;

  constructor(opts: FlowControllerOptions) {
    this.policies = opts.policies;
    this.pool = opts.pool;
    this.detector = opts.detector;
    this.spec = opts.spec;
    this.timers = opts.timers;
    this.observer = opts.observer ?? null;
    for (const b of opts.spec.priorityBands) this.addBand(b);
  }

  /** Requests waiting now. */
  get size(): number {
    return this.queuedRequests;
  }

  /** Bytes of the requests waiting now. */
  get bytes(): number {
    return this.queuedBytes;
  }

  admit(req: AdmissionRequest): AdmissionVerdict {
    if (isSheddable(req.priority) && this.spec.sheddable === 'reject') {
      // Sheddable requests never wait: they go if everything queued could go first, else 429.
      if (this.queuedRequests > 0) this.dispatch();
      if (this.queuedRequests > 0 || this.saturation(req) >= 1) return sbError('SB_ERR_SHED');
      this.observer?.left(req, 'Dispatched', 0);
      return null;
    }
    if (this.queuedRequests === 0 && this.saturation(req) < 1) {
      // Nothing waits ahead and there is room: no queueing at all.
      this.observer?.left(req, 'Dispatched', 0);
      return null;
    }
    const band = this.band(req.priority);
    const full = this.overLimit(req.bytes) ?? band.overLimit(req.bytes, req.fairnessId);
    if (full !== null) {
      this.observer?.left(req, 'RejectedCapacity', 0);
      return sbError('SB_ERR_QUEUE_FULL', full);
    }
    // Only a request that waits reads its signal (front doors make it on first use).
    const signal = req.signal;
    if (signal?.aborted === true) {
      this.observer?.left(req, 'EvictedContextCancelled', 0);
      return sbError('SB_ERR_CLIENT_GONE');
    }
    const now = this.pool.clock.now();
    const ttl = this.spec.defaultRequestTTLMs;
    let resolve!: (v: SwitchboardError | null) => void;
    const verdict = new Promise<SwitchboardError | null>((r) => (resolve = r));
    const item = new QueuedRequest(req, band.flow(req.fairnessId), now, ttl > 0 ? now + ttl : Infinity, this.seq++, resolve);
    band.added(item);
    this.queuedRequests++;
    this.queuedBytes += req.bytes;
    if (ttl > 0) this.expiry.push(item);
    if (signal !== undefined) {
      const onAbort = (): void => this.leave(item, sbError('SB_ERR_CLIENT_GONE'), 'EvictedContextCancelled', this.pool.clock.now());
      signal.addEventListener('abort', onAbort, { once: true });
      item.unlisten = () => signal.removeEventListener('abort', onAbort);
    }
    this.observer?.queueChanged(req, 1, req.bytes);
    this.dispatch();
    return verdict;
  }

  /** The director placed (or failed to place) a request: it no longer counts as pending. */
  placed(req: AdmissionRequest): void {
    if (!this.released.delete(req)) return;
    this.pendingRequests--;
    this.pendingTokens -= req.tokens;
  }

  /** A routed request finished: capacity may have returned. */
  finished(): void {
    this.poke();
  }

  /** Capacity may have changed (a request finished, metrics arrived): dispatch if anything waits. */
  poke(): void {
    if (this.queuedRequests > 0) this.dispatch();
  }

  /** Releases queued requests in policy order while the pool has room; expires overdue ones. */
  dispatch(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    const t0 = performance.now();
    const now = this.pool.clock.now();
    try {
      this.expire(now);
      while (this.queuedRequests > 0) {
        const band = this.firstNonEmpty() as PriorityBand;
        const item = band.next() as QueuedRequest;
        // The head of the highest band decides: lower bands never overtake it (strict priority).
        if (this.saturation(item.req) >= 1) break;
        band.dispatched(item);
        this.leave(item, null, 'Dispatched', now);
        this.markPending(item.req);
      }
    } finally {
      this.dispatching = false;
    }
    this.observer?.dispatchCycle((performance.now() - t0) / 1000);
    this.arm(now);
  }

  /** Saturation of `req`'s candidates, counting requests released but not yet scheduled. */
  saturation(req: AdmissionRequest): number {
    return saturationOf(this.pool, this.detector, req, this.pendingRequests, this.pendingTokens);
  }

  private leave(item: QueuedRequest, verdict: SwitchboardError | null, outcome: QueueOutcome, now: number): void {
    if (!item.live) return;
    item.live = false;
    const req = item.req;
    const band = this.byPriority.get(req.priority) as PriorityBand;
    band.removed(item);
    this.queuedRequests--;
    this.queuedBytes -= req.bytes;
    item.unlisten?.();
    item.unlisten = null;
    this.observer?.queueChanged(req, -1, -req.bytes);
    this.observer?.left(req, outcome, (now - item.enqueuedAt) / 1000);
    item.resolve(verdict);
  }

  private expire(now: number): void {
    const q = this.expiry;
    while (this.expiryHead < q.length) {
      const item = q[this.expiryHead];
      if (item.live && item.deadline > now) break;
      this.expiryHead++;
      if (item.live) this.leave(item, sbError('SB_ERR_QUEUE_TTL'), 'EvictedTTL', now);
    }
    if (this.expiryHead > 64 && this.expiryHead * 2 > q.length) {
      this.expiry = q.slice(this.expiryHead).filter((i) => i.live);
      this.expiryHead = 0;
    }
  }

  /** One timer while anything waits: at the earliest TTL, or the re-check interval if sooner. */
  private arm(now: number): void {
    if (this.queuedRequests === 0) {
      if (this.timer !== null) this.timers.clear(this.timer);
      this.timer = null;
      this.timerAt = Infinity;
      return;
    }
    let at = now + this.spec.recheckIntervalMs;
    for (let i = this.expiryHead; i < this.expiry.length; i++) {
      if (!this.expiry[i].live) continue;
      if (this.expiry[i].deadline < at) at = this.expiry[i].deadline;
      break;
    }
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timerAt = at;
    this.timer = this.timers.set(at - now, () => {
      this.timer = null;
      this.timerAt = Infinity;
      this.dispatch();
    });
  }

  private markPending(req: AdmissionRequest): void {
    this.released.add(req);
    this.pendingRequests++;
    this.pendingTokens += req.tokens;
    if (this.pendingReset) return;
    this.pendingReset = true;
    // Safety net: by the next macrotask the director has placed every released request (only
    // microtasks follow a release), so whatever still counts as pending was never reported.
    setImmediate(() => {
      this.pendingReset = false;
      if (this.released.size === 0) return;
      this.released.clear();
      this.pendingRequests = 0;
      this.pendingTokens = 0;
      this.poke();
    });
  }

  private overLimit(bytes: number): string | null {
    const s = this.spec;
    if (s.maxRequests > 0 && this.queuedRequests + 1 > s.maxRequests) return `${s.maxRequests} requests queued`;
    if (s.maxBytes > 0 && bytes > 0 && this.queuedBytes + bytes > s.maxBytes) return `${s.maxBytes} bytes queued`;
    return null;
  }

  private firstNonEmpty(): PriorityBand | null {
    for (const b of this.bands) if (b.live > 0) return b;
    return null;
  }

  /** The band for `priority`; unconfigured priorities get one from the default template. */
  private band(priority: number): PriorityBand {
    return this.byPriority.get(priority) ?? this.addBand({ ...this.spec.defaultPriorityBand, priority });
  }

  private addBand(spec: PriorityBandSpec): PriorityBand {
    const b = new PriorityBand(spec, this.policies.fairness(spec.fairness), this.policies.ordering(spec.ordering));
    this.byPriority.set(spec.priority, b);
    let i = 0;
    while (i < this.bands.length && this.bands[i].priority > spec.priority) i++;
    this.bands.splice(i, 0, b);
    return b;
  }
}
