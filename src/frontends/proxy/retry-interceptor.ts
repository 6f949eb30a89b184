/**
 * Retry and re-pick as an undici interceptor (for `Dispatcher.compose`, or the pools' cheaper
 * `intercept`): a request dispatched with a
 * `route` is sent to the route's best endpoint, and while nothing has reached the client a failed
 * attempt (refused, reset, timed out, 5xx) is sent again to the next fallback, then after a new
 * pick, within `max` extra attempts. The per-request work lives in `RetryHandler`
 * (retry-handler.ts); what an attempt's error means, in upstream-failure.ts.
 *
 *   const upstream = upstreamPools.intercept(retryInterceptor({ max: 2, repick: true, endpoints, metrics }));
 *   upstream.dispatch({ method: 'POST', path, headers, body, route }, handler);
 */
import type { Dispatcher } from 'undici';
import { RetryHandler } from './retry-handler.js';
import type { RetryOptions, RoutedDispatchOptions } from './upstream-route.js';

export type { RetryMetrics, RetryOptions, RoutedDispatchOptions, UpstreamRoute } from './upstream-route.js';

/** The interceptor; requests without a `route` pass through untouched. */
export function retryInterceptor(options: RetryOptions): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const route = (opts as RoutedDispatchOptions).route;
    if (route === undefined) return dispatch(opts, handler);
    return new RetryHandler(options, dispatch, opts, route, handler).start();
  };
}
