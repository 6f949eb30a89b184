/**
 * The proxy's upstream dispatcher: one undici keep-alive `Pool` per pod, created on first use and
 * closed when the pod leaves the endpoint pool, and a `dispatch` that routes by `opts.origin`
 * (as undici's `Agent` does), so interceptors composed on it can send an attempt to another pod
 * by changing the origin. Timeouts live in the pool options so a request pays nothing to set them.
 */
import { Dispatcher, Pool } from 'undici';
import type { Endpoint } from '../../pool/endpoint.js';
import type { EndpointPool } from '../../pool/pool.js';
import type { ProxySettings } from './options.js';

/** The origin undici is given for `ep` (its pool's key). */
export function originOf(ep: Endpoint): string {
  return `http://${ep.key}`;
}

export class UpstreamPools extends Dispatcher {
  /** Pools by origin. */
  private readonly pools = new Map<string, Pool>();
  private readonly options: Pool.Options;
  private readonly unsubscribe: () => void;

  constructor(endpoints: EndpointPool, settings: ProxySettings) {
    super();
    const t = settings.timeouts;
    this.options = {
      connections: settings.pool.connectionsPerEndpoint,
      pipelining: 1,
      keepAliveTimeout: settings.pool.keepAliveMs,
      keepAliveMaxTimeout: Math.max(settings.pool.keepAliveMs, 1000),
      connect: { timeout: t.connectMs },
      headersTimeout: t.firstByteMs,
      bodyTimeout: t.idleStreamMs,
    };
    this.unsubscribe = endpoints.subscribe((e) => {
      if (e.type === 'removed') this.drop(originOf(e.endpoint));
    });
  }

  /** The pool for `ep`, created on first use. */
  for(ep: Endpoint): Pool {
    return this.forOrigin(originOf(ep));
  }

  /** Sends one request to the pool of `opts.origin`. */
  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.forOrigin(String(opts.origin)).dispatch(opts, handler);
  }

  /**
   * `interceptors` composed on the pools as `compose` does, less what `compose` adds per request:
   * a Proxy lookup for `dispatch` and a wrapper for handlers of undici's legacy API (every
   * handler here is of the newer one).
   */
  intercept(...interceptors: Dispatcher.DispatcherComposeInterceptor[]): Pick<Dispatcher, 'dispatch'> {
    let dispatch: Dispatcher['dispatch'] = this.dispatch.bind(this);
    for (const interceptor of interceptors) dispatch = interceptor(dispatch);
    return { dispatch };
  }

  /** Number of pods with a pool (tests, debug). */
  get size(): number {
    return this.pools.size;
  }

  /** Closes every pool: waits for running requests, which `destroy` cuts short. */
  async shutdown(destroy = false): Promise<void> {
    this.unsubscribe();
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => (destroy ? p.destroy() : p.close()).catch(() => undefined)));
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = this.shutdown(false);
    if (callback === undefined) return done;
    void done.then(callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? a : b;
    const done = this.shutdown(true);
    if (callback === undefined) return done;
    void done.then(callback);
  }

  private forOrigin(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, this.options);
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** A pod left: its in-flight requests finish, then the connections close. */
  private drop(origin: string): void {
    const pool = this.pools.get(origin);
    if (pool === undefined) return;
    this.pools.delete(origin);
    pool.close().catch(() => undefined);
  }
}
