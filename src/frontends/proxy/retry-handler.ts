/**
 * One routed request's attempts (see retry-interceptor.ts). It sends the request to the route's
 * endpoints in order, passes each attempt's events on to the request's own handler, and turns a
 * failure into another attempt while nothing reached the client, i.e. until the first body bytes:
 * a pod that answers 5xx, or dies or stalls after its headers, is retried on another pod. When it
 * stops, the request's handler gets an `UpstreamError`.
 *
 * Towards the per-pod pools it speaks undici's dispatcher-level protocol (`onConnect`,
 * `onHeaders` with raw headers, `onData`, `onComplete`, `onError`), which a pool's client calls
 * directly. A handler of undici's newer API (`onRequestStart`, ...) would be wrapped per attempt
 * in an adapter that also parses every response's headers into an object: that wrapping was most
 * of the proxy's added CPU per request. Towards the request's handler it speaks the newer API and
 * is itself the `DispatchController` for the whole request, whatever the attempt, so pause,
 * resume and abort always reach the current one.
 */
import type { Dispatcher } from 'undici';
import { util } from 'undici';
import { sbError, type SwitchboardError } from '../../errors.js';
import type { Endpoint } from '../../pool/endpoint.js';
import type { RetryOptions, UpstreamRoute } from './upstream-route.js';
import { classifyUpstreamError, UpstreamError, UpstreamStatusError } from './upstream-failure.js';
import { originOf } from './upstream-pools.js';

/** Attempt phases: waiting for the pod's headers, holding them, passing the body on. */
const CONNECTING = 0;
const HEADERS = 1;
const BODY = 2;

const NO_FAILURES: readonly string[] = [];
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** The dispatcher-level handler protocol undici's clients call (see the module comment). */
export interface RawDispatchHandler {
  onConnect(abort: (err?: Error) => void, context?: object): void;
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(rawTrailers: Buffer[] | string[] | null): void;
  onError(err: Error): void;
}

export class RetryHandler implements RawDispatchHandler, Dispatcher.DispatchController {
  private endpoint: Endpoint | null = null;
  private candidateIndex = -1;
  /** Dispatches so far, the first included. */
  private attempts = 0;
  /** Keys of pods that failed this request (shared empty list until the first failure). */
  private failed: string[] = NO_FAILURES as string[];
  private lastError: SwitchboardError | null = null;
  private phase = CONNECTING;
  /** The current attempt's abort and resume (undici's, per attempt). */
  private abortAttempt: ((err?: Error) => void) | null = null;
  private resumeAttempt: (() => void) | null = null;
  private isPaused = false;
  private isAborted = false;
  private abortReason: Error | null = null;
  /** The current attempt's raw response headers, as undici's own controller exposes them. */
  rawHeaders: Buffer[] | null = null;
  rawTrailers: Buffer[] | string[] | null = null;

  /**
   * `opts` is the routed request's own and is used for every attempt (origin and body are set per
   * attempt), not copied: a spread copy given a property it did not have gets a map of its own in
   * V8, which made every pool's option reads megamorphic (3-4 µs per request, measured).
   */
  constructor(
    private readonly options: RetryOptions,
    private readonly next: Dispatcher['dispatch'],
    private readonly opts: Dispatcher.DispatchOptions,
    private readonly route: UpstreamRoute,
    private readonly handler: Dispatcher.DispatchHandler,
  ) {}

  /** Sends the first attempt. */
  start(): boolean {
    return this.dispatchFirst();
  }

  // --- the request's controller ---

  get paused(): boolean {
    return this.isPaused;
  }

  get aborted(): boolean {
    return this.isAborted;
  }

  get reason(): Error | null {
    return this.abortReason;
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    this.resumeAttempt?.();
  }

  abort(reason: Error): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.abortReason = reason;
    this.abortAttempt?.(reason);
  }

  // --- one attempt's events, from the pool ---

  onConnect(abort: (err?: Error) => void, context?: object): void {
    this.abortAttempt = abort;
    if (this.isAborted) {
      abort(this.abortReason ?? undefined);
      return;
    }
    this.handler.onRequestStart?.(this, context ?? {});
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode >= 500 && this.route.open && this.hasAnotherAttempt()) {
      // The pod failed and the client has seen nothing: drop this answer, try elsewhere (onError).
      (this.abortAttempt as (err?: Error) => void)(new UpstreamStatusError(statusCode));
      return false;
    }
    this.phase = HEADERS;
    this.resumeAttempt = resume;
    this.rawHeaders = rawHeaders;
    this.handler.onResponseStart?.(this, statusCode, this.route.parsedHeaders ? util.parseHeaders(rawHeaders) : NO_HEADERS, statusText);
    return !this.isPaused;
  }

  onData(chunk: Buffer): boolean {
    // From the first body chunk on the response belongs to the client: no retry any more.
    this.phase = BODY;
    this.handler.onResponseData?.(this, chunk);
    return !this.isPaused;
  }

  onComplete(rawTrailers: Buffer[] | string[] | null): void {
    this.rawTrailers = rawTrailers;
    this.handler.onResponseEnd?.(this, rawTrailers === null || rawTrailers.length === 0 ? NO_HEADERS : util.parseHeaders(rawTrailers));
  }

  onError(err: Error): void {
    if (!this.route.open) {
      this.handler.onResponseError?.(this, err); // our own abort after the client left
      return;
    }
    const key = (this.endpoint as Endpoint).key;
    const failure = classifyUpstreamError(err, key);
    this.options.metrics.upstreamFailure(failure.reason);
    if (this.phase === BODY) {
      this.stop(failure.error, failure.detail, key);
      return;
    }
    if (this.failed === NO_FAILURES) this.failed = [];
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

  // --- attempts ---

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
    this.abortAttempt = null;
    this.resumeAttempt = null;
    this.rawHeaders = null;
    this.route.attempting(ep);
    const opts = this.opts;
    opts.origin = originOf(ep);
    opts.body = this.route.body;
    // The pools call the dispatcher-level methods above; the DispatchHandler type names the newer ones.
    return this.next(opts, this as unknown as Dispatcher.DispatchHandler);
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
    this.handler.onResponseError?.(this, new UpstreamError(error, detail, endpointKey, this.failed));
  }
}
