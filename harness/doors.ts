/**
 * The two front doors as tests and benchmarks start them: on loopback, on ephemeral ports, in
 * plaintext (the ext_proc server logs nothing unless given a logger). Every option of the real servers can be overridden.
 */
import type { Director } from '../src/director/types.js';
import { startExtProcServer, type ExtProcServer, type ExtProcServerOptions } from '../src/frontends/extproc/server.js';
import { startProxyServer, type ProxyServer, type ProxyServerOptions } from '../src/frontends/proxy/server.js';
import type { EndpointPool } from '../src/pool/pool.js';

/** The ext_proc server for `director`; ready while `ready()` holds (default always). */
export function startExtProc(director: Director, options: Partial<ExtProcServerOptions> = {}): Promise<ExtProcServer> {
  return startExtProcServer({
    director,
    readiness: { ready: () => true },
    host: '127.0.0.1',
    port: 0,
    healthPort: 0,
    secure: false,
    ...options,
  });
}

/** The OpenAI proxy for `director` over `pool`. */
export function startProxy(director: Director, pool: EndpointPool, options: Partial<ProxyServerOptions> = {}): Promise<ProxyServer> {
  return startProxyServer({ director, pool, port: 0, host: '127.0.0.1', ...options });
}
