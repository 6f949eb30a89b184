/**
 * The Prometheus endpoint (`--metrics-port`, default 9090): GET /metrics, optionally behind a
 * bearer token, plus opt-in JSON debug routes (`/debug/...`) behind the same token. Anything
 * else is 404.
 */
import { createServer, type Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';

/** Options of the metrics server. */
export interface MetricsServerOptions {
  registry: Registry;
  port: number;
  host?: string;
  /**
   * When set, every route needs `Authorization: Bearer <token>`. A function is asked on every
   * request (a token file that is rotated); null or '' from it refuses everyone.
   */
  bearerToken?: string | null | (() => string | null);
  /** Debug routes by path (e.g. `/debug/endpoints`), each answering a JSON value; none by default. */
  debugRoutes?: Readonly<Record<string, () => unknown>> | null;
}

const UNAUTHORIZED_METRIC = 'switchboard_metrics_endpoint_unauthorized_total';

/** Starts the metrics server; resolves once it listens. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const token = opts.bearerToken;
  const expected: (() => Buffer | null) | null =
    token === undefined || token === null || token === ''
      ? null
      : typeof token === 'string'
        ? ((b) => () => b)(Buffer.from(`Bearer ${token}`))
        : () => {
            const t = token();
            return t === null || t === '' ? null : Buffer.from(`Bearer ${t}`);
          };
  const debug = opts.debugRoutes ?? null;
  const unauthorized =
    expected === null
      ? null
      : ((opts.registry.getSingleMetric(UNAUTHORIZED_METRIC) as Counter | undefined) ??
        new Counter({ name: UNAUTHORIZED_METRIC, help: 'Requests to the metrics and debug endpoints refused for a missing or wrong bearer token.', registers: [opts.registry] }));
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = path === '/metrics' ? 'metrics' : debug !== null && Object.prototype.hasOwnProperty.call(debug, path) ? 'debug' : null;
    if (req.method !== 'GET' || route === null) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (expected !== null) {
      const want = expected();
      const got = Buffer.from(req.headers.authorization ?? '');
      if (want === null || got.length !== want.length || !timingSafeEqual(got, want)) {
        unauthorized?.inc();
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('unauthorized\n');
        return;
      }
    }
    if (route === 'debug') {
      let body: string;
      try {
        body = JSON.stringify((debug as Record<string, () => unknown>)[path](), null, 2);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`debug route failed: ${(err as Error).message}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body + '\n');
      return;
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection must not hold shutdown up.
        server.closeIdleConnections();
      }),
  };
}
