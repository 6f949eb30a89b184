/**
 * The contract between the front doors (ext_proc, proxy) and the core.
 *
 * A front door turns its wire format into an `InferenceRequest`, asks the director for a
 * `Decision`, routes (or answers the error), and reports the response through the decision's
 * `RequestLifecycle`. Both front doors share this path, so their behaviour and metrics match.
 */
import type { SwitchboardError } from '../errors.js';
import type { Endpoint } from '../pool/endpoint.js';
import type { HeaderSource } from '../request/headers.js';
import type { Usage } from '../request/usage.js';
import type { Explanation } from '../scheduling/framework/explain.js';

export type { HeaderSource } from '../request/headers.js';

/** One inference request as the core sees it, whatever door it came through. */
export interface InferenceRequest {
  /** `x-request-id`; front doors generate one when the client sent none. */
  requestId: string;
  /** Request path (`:path` in ext_proc); selects the API shape (completions, chat, ...). */
  path: string;
  /** Client request headers (lower-case names). */
  headers: HeaderSource;
  /** The complete request body, or null for a header-only request. */
  body: Buffer | null;
  /** Gateway subset hint (`ip` or `ip:port` entries); null when the gateway sent none. */
  subset: readonly string[] | null;
  /** Whether to build a per-endpoint, per-scorer explanation of the pick. */
  explain?: boolean;
  /** Aborted when the client goes away; releases a request waiting in admission. */
  signal?: AbortSignal;
  /** Endpoint keys (`ip:port`) never to pick: those that already failed this request. */
  exclude?: ReadonlySet<string> | null;
  /** A new pick for a request already counted (a front door's retry): not counted again. */
  retry?: boolean;
  /** The prompt's token ids when the caller knows them (the simulator's scorecard); skips tokenizing. */
  tokenIds?: Int32Array | null;
}

export type { Usage } from '../request/usage.js';

/**
 * How a request ended, for accounting and metrics. `retried`: this attempt failed before any
 * response reached the client and the front door tries another pick; only the accounting ends.
 */
export type Outcome = 'ok' | 'error' | 'cancelled' | 'retried';

/**
 * Per-request accounting handle. The front door calls `finish` exactly once; every other call
 * is optional and idempotent where that makes sense.
 */
export interface RequestLifecycle {
  /** The endpoint that really served the request (gateway feedback or proxy retry). */
  served(endpointKey: string): void;
  /** The upstream answered with `status` and `contentType`. */
  responseHeaders(status: number, contentType: string | undefined): void;
  /**
   * A chunk of the response body. Returns the bytes to forward now: the chunk itself, a
   * rewritten chunk (model name mapped back), or null while a non-streamed body is held for
   * rewriting (the whole body is returned with `endOfStream`).
   */
  responseBody(chunk: Buffer, endOfStream: boolean): Buffer | null;
  /** Ends accounting: in-flight counts drop, metrics are recorded. */
  finish(outcome: Outcome, errorCode?: string): void;
  /** Usage parsed from the response so far, if any. */
  usage(): Usage | null;
}

/** The request goes to `endpoints[0]`, with the rest as fallbacks in order. */
export interface RoutedDecision {
  kind: 'route';
  /** Endpoints best first; length is the picker's `maxNumOfEndpoints` at most. */
  endpoints: readonly Endpoint[];
  /** `ip:port[,ip:port...]`: the value of the routing header and metadata. */
  destination: string;
  /** Body to send upstream: the client's buffer unchanged, or a rewritten copy. */
  body: Buffer | null;
  /** True when `body` differs from the client's bytes (model rewrite). */
  bodyRewritten: boolean;
  /** Model named by the client ('' for header-only or model-less payloads). */
  incomingModel: string;
  /** Model sent upstream after rewrites. */
  targetModel: string;
  /** The client asked for a streamed response. */
  stream: boolean;
  /** Accounting for this request. */
  lifecycle: RequestLifecycle;
  /** Explanation of the pick when the request asked for it, else null. */
  explanation: Explanation | null;
}

/** The request is answered with `error.status` and never reaches a model server. */
export interface RejectedDecision {
  kind: 'reject';
  error: SwitchboardError;
}

export type Decision = RoutedDecision | RejectedDecision;

/** What a front door needs from the core. */
export interface Director {
  /** Inspects, admits and schedules one request. Never throws: failures are rejections. */
  handleRequest(req: InferenceRequest): Promise<Decision>;
}
