/**
 * The Prometheus endpoint (`--metrics-port`, default 9090): GET /metrics, optionally behind a
 * bearer token. Anything else is 404.
 */
import { createServer, type Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from 'prom-client';

/** Options of the metrics server. */
export interface MetricsServerOptions {
  registry: Registry;
  port: number;
  host?: string;
  /** When set, requests need `Authorization: Bearer <token>`. */
  bearerToken?: string | null;
}

/** Starts the metrics server; resolves once it listens. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const expected = opts.bearerToken ? Buffer.from(`Bearer ${opts.bearerToken}`) : null;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (expected !== null) {
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('unauthorized\n');
        return;
      }
    }
    opts.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${err.message}\n`),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const addr = server.address();
  return {
    server,
    port: typeof addr === 'object' && addr !== null ? addr.port : opts.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
