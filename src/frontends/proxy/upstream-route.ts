/**
 * The contract between a routed request and the retry interceptor (retry-interceptor.ts): what
 * the request offers (its decision's endpoints, body, a new pick) and what the interceptor is
 * built with.
 */
import type { Dispatcher } from 'undici';
import type { Endpoint } from '../../pool/endpoint.js';
import type { EndpointPool } from '../../pool/pool.js';
import type { UpstreamFailureReason } from './proxy-metrics.js';

/** undici's parsed response headers (and trailers). */
export type ResponseHeaders = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];

/** The request side of a routed dispatch: its decision's endpoints and how to get a new one. */
export interface UpstreamRoute {
  /** The endpoints to try, best first: the decision's pick, then its fallbacks. */
  readonly endpoints: readonly Endpoint[];
  /** The body to send under the current decision. */
  readonly body: Buffer | null;
  /** False once nobody waits for the answer (the client left): failures are then neither counted nor retried. */
  readonly open: boolean;
  /**
   * False when the request's handler reads the response headers from `controller.rawHeaders`
   * only: `onResponseStart` then gets an empty object instead of the parsed headers (one parse
   * per response saved).
   */
  readonly parsedHeaders: boolean;
  /** The next attempt goes to `endpoint`. */
  attempting(endpoint: Endpoint): void;
  /**
   * Ends the failed decision and asks for a new pick that avoids `failed`; true when `endpoints`
   * and `body` now belong to the new decision.
   */
  repick(failed: readonly string[]): Promise<boolean>;
}

/**
 * Dispatch options of a routed request. They belong to the interceptor once dispatched: it sets
 * `origin` and `body` on them for each attempt.
 */
export interface RoutedDispatchOptions extends Dispatcher.DispatchOptions {
  route: UpstreamRoute;
}

/** What the interceptor counts. */
export interface RetryMetrics {
  upstreamFailure(reason: UpstreamFailureReason): void;
  retry(kind: 'fallback' | 'repick'): void;
}

export interface RetryOptions {
  /** Extra attempts after the first. */
  max: number;
  /** When the decision's fallbacks are used up, ask for a new pick among the pods that have not failed. */
  repick: boolean;
  /** The pool re-picks choose from. */
  endpoints: EndpointPool;
  metrics: RetryMetrics;
}
