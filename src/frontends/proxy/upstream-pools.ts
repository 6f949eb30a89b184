/**
 * One undici keep-alive `Pool` per pod, created on first use and closed when the pod leaves the
 * endpoint pool. Timeouts live in the pool options so a request pays nothing to set them.
 */
import { Pool } from 'undici';
import type { Endpoint } from '../../pool/endpoint.js';
import type { EndpointPool } from '../../pool/pool.js';
import type { ProxySettings } from './options.js';

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  private readonly options: Pool.Options;
  private readonly unsubscribe: () => void;

  constructor(endpoints: EndpointPool, settings: ProxySettings) {
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
      if (e.type === 'removed') this.drop(e.endpoint.key);
    });
  }

  /** The pool for `ep`, created on first use. */
  for(ep: Endpoint): Pool {
    let pool = this.pools.get(ep.key);
    if (pool === undefined) {
      pool = new Pool(`http://${ep.key}`, this.options);
      this.pools.set(ep.key, pool);
    }
    return pool;
  }

  /** Number of pods with a pool (tests, debug). */
  get size(): number {
    return this.pools.size;
  }

  /** Closes every pool: waits for running requests, which `destroy` cuts short. */
  async close(destroy = false): Promise<void> {
    this.unsubscribe();
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => (destroy ? p.destroy() : p.close()).catch(() => undefined)));
  }

  /** A pod left: its in-flight requests finish, then the connections close. */
  private drop(key: string): void {
    const pool = this.pools.get(key);
    if (pool === undefined) return;
    this.pools.delete(key);
    pool.close().catch(() => undefined);
  }
}
