/**
 * Accounting for one routed request, from dispatch to the end of its response: in-flight
 * counts on the endpoint that serves it, the response observer, the exported metrics, and the
 * lifecycle hooks' observation of how it ended.
 */
import type { Endpoint } from '../pool/endpoint.js';
import type { EndpointPool } from '../pool/pool.js';
import { ResponseObserver } from '../request/response.js';
import type { Telemetry } from '../telemetry/metrics.js';
import type { FirstTokenObservation, LifecycleHook, ResponseObservation } from './framework/lifecycle-hook.js';
import type { Outcome, RequestLifecycle, Usage } from './types.js';

/** What the lifecycle needs to know about the request. */
export interface LifecycleInit {
  requestId: string;
  /** `x-gateway-inference-fairness-id`, or null. */
  fairnessId?: string | null;
  pool: EndpointPool;
  telemetry: Telemetry | null;
  endpoint: Endpoint;
  /** Estimated tokens added to the endpoint's in-flight load. */
  tokens: number;
  /** Estimated uncached prompt tokens: pending prefill work until the first token arrives. */
  prefillTokens: number;
  incomingModel: string;
  targetModel: string;
  priority: number;
  stream: boolean;
  requestBytes: number;
  /** Clock time the request reached the director. */
  startedAt: number;
  /** A front door's new pick for a request already counted: do not count it again. */
  retry: boolean;
  /**
   * Called once when the request finishes (admission), with the response's usage when known and
   * whether this attempt failed (an error, a retried attempt, or a status >= 400).
   */
  onFinish: ((usage: Usage | null, failed: boolean) => void) | null;
  /** Hooks that observe the attempt's end (extension point `lifecycle`). */
  hooks: readonly LifecycleHook[];
}

export class Lifecycle implements RequestLifecycle {
  private endpoint: Endpoint;
  private readonly observer: ResponseObserver;
  private finished = false;
  private prefillPending: boolean;
  private status = 0;
  private readonly dispatchedAt: number;
  /** Our pending prefill on the endpoint at dispatch (-1 once the request moved elsewhere). */
  private prefillAhead: number;
  private firstTokenReported = false;

  constructor(private readonly init: LifecycleInit) {
    this.endpoint = init.endpoint;
    const clock = init.pool.clock;
    this.dispatchedAt = clock.now();
    this.observer = new ResponseObserver(init.stream, init.incomingModel, init.targetModel, () => clock.now());
    init.pool.dispatch(init.endpoint.slot, init.tokens);
    this.prefillAhead = init.pool.pendingPrefill[init.endpoint.slot];
    init.pool.addPrefill(init.endpoint.slot, init.prefillTokens);
    this.prefillPending = init.prefillTokens > 0;
    init.telemetry?.requestStarted(init.incomingModel, init.targetModel, init.priority, init.requestBytes, init.retry);
  }

  /** The endpoint currently charged with the request. */
  get servedBy(): Endpoint {
    return this.endpoint;
  }

  served(endpointKey: string): void {
    if (this.finished || endpointKey === this.endpoint.key) return;
    const pool = this.init.pool;
    // Gateways may send several comma-separated values; the first is the one that served.
    const key = endpointKey.split(',')[0].trim();
    const ep = pool.get(key);
    if (ep === undefined || ep === this.endpoint) return;
    pool.complete(this.endpoint, this.init.tokens);
    pool.dispatch(ep.slot, this.init.tokens);
    if (this.prefillPending) {
      pool.removePrefill(this.endpoint, this.init.prefillTokens);
      pool.addPrefill(ep.slot, this.init.prefillTokens);
    }
    this.prefillAhead = -1;
    this.endpoint = ep;
  }

  responseHeaders(status: number, contentType: string | undefined): void {
    this.status = status;
    this.observer.headers(contentType);
  }

  responseBody(chunk: Buffer, endOfStream: boolean): Buffer | null {
    const first = chunk.length > 0 && this.observer.firstByteAt < 0;
    // The first bytes of a response mean prefill is done: the endpoint's pending work drops.
    if (this.prefillPending && chunk.length > 0) this.prefillDone();
    const out = this.observer.chunk(chunk, endOfStream);
    if (first && this.init.hooks.length > 0 && this.observer.isStreaming && this.status < 400 && !this.finished) this.firstToken();
    return out;
  }

  /** Tells the hooks that listen for it when the first token came, a whole decode before the end. */
  private firstToken(): void {
    const init = this.init;
    const at = this.observer.firstByteAt;
    const obs: FirstTokenObservation = {
      requestId: init.requestId,
      endpoint: this.endpoint,
      targetModel: init.targetModel,
      dispatchedAt: this.dispatchedAt,
      firstByteAt: at,
      ttftMs: at - this.dispatchedAt,
      prefillTokens: init.prefillTokens,
      prefillAhead: this.prefillAhead,
    };
    this.firstTokenReported = true;
    for (const h of init.hooks) {
      if (h.firstToken === undefined) continue;
      try {
        h.firstToken(obs);
      } catch {
        // A faulty hook loses its own observation only.
      }
    }
  }

  private prefillDone(): void {
    this.prefillPending = false;
    this.init.pool.removePrefill(this.endpoint, this.init.prefillTokens);
  }

  usage(): Usage | null {
    return this.observer.usage;
  }

  finish(outcome: Outcome, errorCode?: string): void {
    if (this.finished) return;
    this.finished = true;
    const init = this.init;
    if (this.prefillPending) this.prefillDone();
    init.pool.complete(this.endpoint, init.tokens);
    init.onFinish?.(this.observer.usage, outcome === 'error' || outcome === 'retried' || this.status >= 400);
    const now = init.pool.clock.now();
    const failed = outcome === 'error' || this.status >= 500;
    const code = failed ? (errorCode ?? (this.status >= 500 ? `upstream_${this.status}` : 'error')) : null;
    this.record(outcome, code, now);
    if (init.hooks.length > 0) this.observe(outcome, code, now);
  }

  private record(outcome: Outcome, errorCode: string | null, now: number): void {
    const init = this.init;
    const t = init.telemetry;
    if (t === null) return;
    if (outcome === 'retried') {
      // Another attempt carries on; it records the request's metrics when it ends.
      t.requestAbandoned(init.incomingModel, init.targetModel);
      return;
    }
    const o = this.observer;
    const u = o.usage;
    t.requestFinished({
      incomingModel: init.incomingModel,
      targetModel: init.targetModel,
      priority: init.priority,
      errorCode,
      durationSeconds: (now - init.startedAt) / 1000,
      requestBytes: init.requestBytes,
      responseBytes: o.bytes,
      inputTokens: u?.promptTokens ?? -1,
      outputTokens: u?.completionTokens ?? -1,
      cachedTokens: u?.cachedTokens ?? 0,
      ttftSeconds: o.isStreaming && o.firstByteAt >= 0 ? (o.firstByteAt - init.startedAt) / 1000 : -1,
    });
  }

  /** Tells every hook how the attempt ended: one object per request, nothing per token. */
  private observe(outcome: Outcome, errorCode: string | null, now: number): void {
    const init = this.init;
    const o = this.observer;
    const u = o.usage;
    const streamed = o.isStreaming;
    const timed = streamed && o.firstByteAt >= 0;
    // A stream that arrived in one piece (buffered on the way) carries no per-token timing.
    const span = o.lastByteAt - o.firstByteAt;
    const spread = timed && span > 0;
    const obs: ResponseObservation = {
      requestId: init.requestId,
      endpoint: this.endpoint,
      incomingModel: init.incomingModel,
      targetModel: init.targetModel,
      priority: init.priority,
      fairnessId: init.fairnessId ?? null,
      outcome,
      status: this.status,
      errorCode,
      streamed,
      usage: u,
      startedAt: init.startedAt,
      dispatchedAt: this.dispatchedAt,
      firstByteAt: o.firstByteAt,
      lastByteAt: o.lastByteAt,
      finishedAt: now,
      ttftMs: timed ? o.firstByteAt - this.dispatchedAt : -1,
      tpotMs: spread && u !== null && u.completionTokens >= 2 ? span / (u.completionTokens - 1) : -1,
      itlMs: spread && o.events >= 3 ? span / (o.events - 1) : -1,
      prefillTokens: init.prefillTokens,
      prefillAhead: this.prefillAhead,
      events: o.events,
      requestBytes: init.requestBytes,
      responseBytes: o.bytes,
      retry: init.retry,
      firstTokenReported: this.firstTokenReported,
    };
    for (const h of init.hooks) {
      try {
        h.responseComplete(obs);
      } catch {
        // A faulty hook loses its own observation only; the request is already accounted for.
      }
    }
  }
}
