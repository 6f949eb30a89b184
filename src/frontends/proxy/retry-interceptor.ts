/**
 * Retry and re-pick as an undici interceptor (`Dispatcher.compose`): a request dispatched with a
 * `route` is sent to the route's best endpoint, and while nothing has reached the client a failed
 * attempt (refused, reset, timed out, 5xx) is sent again to the next fallback, then after a new
 * pick, within `max` extra attempts. The per-request work lives in `RetryHandler`
 * (retry-handler.ts); what an attempt's error means, in upstream-failure.ts.
 *
 *   const upstream = upstreamPools.compose(retryInterceptor({ max: 2, repick: true, endpoints, metrics }));
 *   upstream.dispatch({ method: 'POST', path, headers, body, route }, handler);
 */
import type { Dispatcher } from 'undici';
import type { Endpoint } from '../../pool/endpoint.js';
import type { EndpointPool } from '../../pool/pool.js';
import type { UpstreamFailureReason } from './proxy-metrics.js';
import { RetryHandler } from './retry-handler.js';

/** The request side of a routed dispatch: its decision's endpoints and how to get a new one. */
export interface UpstreamRoute {
  /** The endpoints to try, best first: the decision's pick, then its fallbacks. */
  readonly endpoints: readonly Endpoint[];
  /** The body to send under the current decision. */
  readonly body: Buffer | null;
  /** False once nobody waits for the answer (the client left): failures are then neither counted nor retried. */
  readonly open: boolean;
  /** The next attempt goes to `endpoint`. */
  attempting(endpoint: Endpoint): void;
  /**
   * Ends the failed decision and asks for a new pick that avoids `failed`; true when `endpoints`
   * and `body` now belong to the new decision.
   */
  repick(failed: readonly string[]): Promise<boolean>;
}

/** Dispatch options of a routed request; `origin` is set per attempt. */
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

/** The interceptor; requests without a `route` pass through untouched. */
export function retryInterceptor(options: RetryOptions): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const route = (opts as RoutedDispatchOptions).route;
    if (route === undefined) return dispatch(opts, handler);
    return new RetryHandler(options, dispatch, opts, route, handler).start();
  };
}
