/**
 * Request-lifecycle hooks: plugins that observe every routed request once its response ended
 * (and, optionally, when its first token arrived),
 * whichever door it came through (ext_proc, the proxy) or the virtual-time scorecard. They see
 * the endpoint that served it, the outcome, the usage and the response's timing, and act off the
 * pick: the endpoint latency observer keeps per-endpoint TTFT/TPOT columns, an access log writes
 * a line.
 *
 * A hook runs on the request's path, after its accounting: it must do O(1) work, no I/O and no
 * blocking (hand a log line to an asynchronous writer). A hook that throws is ignored; it never
 * costs the request its accounting or another hook its observation.
 */
import type { Plugin } from '../../framework/plugin.js';
import type { Endpoint } from '../../pool/endpoint.js';
import type { Usage } from '../../request/usage.js';
import type { Outcome } from '../types.js';

/** One routed attempt as it ended. Times are the pool clock's milliseconds (virtual in the scorecard). */
export interface ResponseObservation {
  /** `x-request-id` of the request. */
  readonly requestId: string;
  /** The endpoint that served (or last served) the attempt. */
  readonly endpoint: Endpoint;
  /** Model named by the client ('' for header-only requests). */
  readonly incomingModel: string;
  /** Model sent upstream after rewrites. */
  readonly targetModel: string;
  readonly priority: number;
  /** `x-gateway-inference-fairness-id` of the request (its tenant), or null. */
  readonly fairnessId?: string | null;
  /** How the attempt ended; `retried` attempts are followed by another attempt's observation. */
  readonly outcome: Outcome;
  /** Upstream HTTP status, 0 when no response headers arrived. */
  readonly status: number;
  /** Error code of a failed attempt (`upstream_503`, a front door's code), else null. */
  readonly errorCode: string | null;
  /** Whether the response was handled as a stream (requested, or an SSE content type). */
  readonly streamed: boolean;
  /** Usage the response reported, or null (streams without `include_usage`, errors). */
  readonly usage: Usage | null;
  /** The request reached the director. */
  readonly startedAt: number;
  /** The request was routed (after admission; queueing in flow control is before this). */
  readonly dispatchedAt: number;
  /** First response body byte, or -1. */
  readonly firstByteAt: number;
  /** Latest response body byte, or -1. */
  readonly lastByteAt: number;
  /** Accounting ended. */
  readonly finishedAt: number;
  /** Time to first token as the endpoint delivered it (`firstByteAt - dispatchedAt`) for streams, else -1. */
  readonly ttftMs: number;
  /**
   * Time per output token after the first, from the usage's completion tokens
   * (`(lastByteAt - firstByteAt) / (completionTokens - 1)`), or -1 when the stream reported no
   * usage or fewer than two tokens, or arrived in one piece (no timing).
   */
  readonly tpotMs: number;
  /** Mean gap between the stream's SSE events, an ITL estimate that needs no usage; -1 below three events or without timing. */
  readonly itlMs: number;
  /** Estimated uncached prompt tokens of the request (its own prefill work). */
  readonly prefillTokens?: number;
  /**
   * Prefill work this picker had pending on the endpoint when it dispatched the request
   * (estimated uncached prompt tokens of its earlier requests still awaiting a first token), or
   * -1 when unknown (the request moved to another endpoint on the way).
   */
  readonly prefillAhead?: number;
  /** SSE events counted in the stream (0 for a plain body). */
  readonly events: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  /** A front door's new pick for a request whose earlier attempt failed. */
  readonly retry: boolean;
  /** Whether the hooks already heard this attempt's first token (`firstToken`), so its TTFT was reported then. */
  readonly firstTokenReported?: boolean;
}

/**
 * One streamed attempt's first token, as it arrived: a first-token time is known here, a whole
 * decode before the response ends (seconds for a long answer on a slow pod).
 */
export interface FirstTokenObservation {
  readonly requestId: string;
  readonly endpoint: Endpoint;
  readonly targetModel: string;
  /** The request was routed, pool clock ms. */
  readonly dispatchedAt: number;
  /** First response body byte, pool clock ms. */
  readonly firstByteAt: number;
  /** `firstByteAt - dispatchedAt`. */
  readonly ttftMs: number;
  /** Estimated uncached prompt tokens of the request (its own prefill work). */
  readonly prefillTokens: number;
  /** This picker's pending prefill on the endpoint at dispatch, or -1 when the request moved elsewhere. */
  readonly prefillAhead: number;
}

/** Plugin contract (extension point `lifecycle`): hears every attempt's end. */
export interface LifecycleHook {
  /** Called once per routed attempt, after its accounting ended; O(1), no I/O. */
  responseComplete(o: ResponseObservation): void;
  /** Called once per streamed attempt whose first body byte arrived with a status under 400; O(1), no I/O; optional. */
  firstToken?(o: FirstTokenObservation): void;
  /** Releases what the hook holds (an access log's file) when Switchboard stops; optional. */
  close?(): void | Promise<void>;
}

/** Type guard for a lifecycle-hook plugin. */
export function isLifecycleHook(p: Plugin): p is Plugin & LifecycleHook {
  return typeof (p as Partial<LifecycleHook>).responseComplete === 'function';
}
