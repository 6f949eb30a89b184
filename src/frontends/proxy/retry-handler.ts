/**
 * One routed request's attempts (see retry-interceptor.ts): an undici `DispatchHandler` between
 * the dispatcher and the request's own handler. It sends the request to the route's endpoints in
 * order, passes each attempt's events through, and turns a failure into another attempt while
 * nothing reached the client, i.e. until the first body bytes: a pod that answers 5xx, or dies
 * or stalls after its headers, is retried on another pod. When it stops, the request's handler
 * gets an `UpstreamError`.
 */
import type { Dispatcher } from 'undici';
import { sbError, type SwitchboardError } from '../../errors.js';
import type { Endpoint } from '../../pool/endpoint.js';
import type { ResponseHeaders, RetryOptions, UpstreamRoute } from './upstream-route.js';
import { classifyUpstreamError, UpstreamError, UpstreamStatusError } from './upstream-failure.js';
import { originOf } from './upstream-pools.js';

/** Attempt phases: waiting for the pod's headers, holding them, passing the body on. */
const CONNECTING = 0;
const HEADERS = 1;
const BODY = 2;

export class RetryHandler implements Dispatcher.DispatchHandler {
  private readonly opts: Dispatcher.DispatchOptions;
  private endpoint: Endpoint | null = null;
  private candidateIndex = -1;
  /** Dispatches so far, the first included. */
  private attempts = 0;
  /** Keys of pods that failed this request. */
  private readonly failed: string[] = [];
  private lastError: SwitchboardError | null = null;
  private phase = CONNECTING;
  private controller: Dispatcher.DispatchController | null = null;

  constructor(
    private readonly options: RetryOptions,
    private readonly next: Dispatcher['dispatch'],
    opts: Dispatcher.DispatchOptions,
    private readonly route: UpstreamRoute,
    private readonly handler: Dispatcher.DispatchHandler,
  ) {
    this.opts = { ...opts };
  }

  /** Sends the first attempt. */
  start(): boolean {
    return this.dispatchFirst();
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.controller = controller;
    this.handler.onRequestStart?.(controller, context);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHeaders, statusMessage?: string): void {
    if (statusCode >= 500 && this.route.open && this.hasAnotherAttempt()) {
      // The pod failed and the client has seen nothing: drop this answer, try elsewhere (onResponseError).
      controller.abort(new UpstreamStatusError(statusCode));
      return;
    }
    this.phase = HEADERS;
    this.handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // From the first body chunk on the response belongs to the client: no retry any more.
    this.phase = BODY;
    this.handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: ResponseHeaders): void {
    this.handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, err: Error): void {
    if (!this.route.open) {
      this.handler.onResponseError?.(controller, err); // our own abort after the client left
      return;
    }
    const key = (this.endpoint as Endpoint).key;
    const failure = classifyUpstreamError(err, key);
    this.options.metrics.upstreamFailure(failure.reason);
    if (this.phase === BODY) {
      this.stop(failure.error, failure.detail, key);
      return;
    }
    this.failed.push(key);
    this.lastError = failure.error;
    // A pod that stalls after its headers, before any body, may be retried like one that never answered.
    const retryable = failure.retryable || (this.phase === HEADERS && failure.reason === 'idle_timeout');
    if (retryable && this.attempts <= this.options.max) {
      const next = this.nextCandidate();
      if (next !== null) {
        this.options.metrics.retry('fallback');
        this.dispatchTo(next);
        return;
      }
      if (this.options.repick) {
        void this.repick(failure.error);
        return;
      }
    }
    this.stop(failure.error, failure.detail, key);
  }

  /** Sends the request to the route's best endpoint that has not failed it. */
  private dispatchFirst(): boolean {
    this.candidateIndex = -1;
    const ep = this.nextCandidate();
    if (ep !== null) return this.dispatchTo(ep);
    const err = this.lastError ?? sbError('SB_ERR_NO_CANDIDATES');
    this.stop(err, err.message, null);
    return true;
  }

  private dispatchTo(ep: Endpoint): boolean {
    this.phase = CONNECTING;
    this.endpoint = ep;
    this.attempts++;
    this.route.attempting(ep);
    const opts = this.opts;
    opts.origin = originOf(ep);
    opts.body = this.route.body;
    return this.next(opts, this);
  }

  /** Whether a failure of the current attempt would be retried: the budget and a pod remain. */
  private hasAnotherAttempt(): boolean {
    const { max, repick, endpoints } = this.options;
    if (this.attempts > max) return false;
    const current = (this.endpoint as Endpoint).key;
    const usable = (ep: Endpoint): boolean => ep.key !== current && !this.failed.includes(ep.key);
    const list = this.route.endpoints;
    for (let i = this.candidateIndex + 1; i < list.length; i++) if (usable(list[i])) return true;
    return repick && endpoints.endpoints().some(usable);
  }

  /** The route's next endpoint that has not failed, or null. */
  private nextCandidate(): Endpoint | null {
    const list = this.route.endpoints;
    while (++this.candidateIndex < list.length) {
      const ep = list[this.candidateIndex];
      if (!this.failed.includes(ep.key)) return ep;
    }
    return null;
  }

  /** Fallbacks are used up: a new pick among the pods that have not failed, unless none is left. */
  private async repick(cause: SwitchboardError): Promise<void> {
    if (this.options.endpoints.endpoints().every((ep) => this.failed.includes(ep.key))) {
      this.stop(cause, cause.message, null);
      return;
    }
    let picked: boolean;
    try {
      picked = await this.route.repick(this.failed);
    } catch {
      picked = false;
    }
    if (!picked) {
      if (this.route.open) {
        const err = this.lastError ?? cause;
        this.stop(err, err.message, null);
      }
      return;
    }
    this.options.metrics.retry('repick');
    this.dispatchFirst();
  }

  /** No attempt left: the request's handler hears why. */
  private stop(error: SwitchboardError, detail: string, endpointKey: string | null): void {
    this.handler.onResponseError?.(this.controller as Dispatcher.DispatchController, new UpstreamError(error, detail, endpointKey, this.failed));
  }
}
