/**
 * The Prometheus endpoint (`--metrics-port`, default 9090): GET /metrics, optionally behind an
 * authenticator (a static bearer token, or Kubernetes TokenReview + SubjectAccessReview), plus
 * opt-in JSON debug routes (`/debug/...`) behind the same check. Anything else is 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { DASHBOARD_PATHS, type Dashboard } from './dashboard/dashboard.js';
import { basicAsBearer, deny, StaticTokenAuthenticator, type AuthDecision, type MetricsAuthenticator } from './metrics-auth.js';

/** Options of the metrics server. */
export interface MetricsServerOptions {
  registry: Registry;
  port: number;
  host?: string;
  /**
   * Shorthand for a StaticTokenAuthenticator: every route needs `Authorization: Bearer <token>`.
   * A function is asked on every request (a token file that is rotated); null or '' from it
   * refuses everyone. Ignored when `authenticator` is set.
   */
  bearerToken?: string | null | (() => string | null);
  /** Checks every request before it is served; none by default. */
  authenticator?: MetricsAuthenticator | null;
  /** Debug routes by path (e.g. `/debug/endpoints`), each answering a JSON value; none by default. */
  debugRoutes?: Readonly<Record<string, () => unknown>> | null;
  /** The live dashboard at `/dashboard` (`--enable-dashboard`); none by default. */
  dashboard?: Dashboard | null;
}

type Route = 'metrics' | 'debug' | 'dashboard';

const UNAUTHORIZED_METRIC = 'switchboard_metrics_endpoint_unauthorized_total';

/** Starts the metrics server; resolves once it listens. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const token = opts.bearerToken;
  const auth: MetricsAuthenticator | null =
    opts.authenticator ?? (token === undefined || token === null || token === '' ? null : new StaticTokenAuthenticator(token));
  const debug = opts.debugRoutes ?? null;
  const dashboard = opts.dashboard ?? null;
  const refused =
    auth === null
      ? null
      : ((opts.registry.getSingleMetric(UNAUTHORIZED_METRIC) as Counter | undefined) ??
        new Counter({
          name: UNAUTHORIZED_METRIC,
          help: 'Requests to the metrics and debug endpoints refused, by reason: missing_token or invalid_token (401), forbidden (403), unavailable (503: the check could not be made).',
          labelNames: ['reason'],
          registers: [opts.registry],
        }));
  const serve = (req: IncomingMessage, res: ServerResponse, path: string, route: Route): void => {
    if (route === 'dashboard') {
      (dashboard as Dashboard).serve(req, res, path);
      return;
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
  };
  const refuse = (req: IncomingMessage, res: ServerResponse, d: Extract<AuthDecision, { allowed: false }>, route: Route): void => {
    refused?.inc({ reason: d.reason });
    const headers: Record<string, string | string[]> = { 'content-type': 'text/plain' };
    // A browser cannot send a bearer token by itself: the dashboard also asks for the token as a
    // Basic password, which browsers prompt for and then send with every request of the page.
    // A client that sent a bearer token is only told it was wrong.
    const basic = route === 'dashboard' && !/^bearer\s/i.test(req.headers.authorization ?? '');
    if (d.status === 401) headers['www-authenticate'] = basic ? ['Basic realm="Switchboard dashboard", charset="UTF-8"', 'Bearer'] : 'Bearer';
    if (d.status === 503) headers['retry-after'] = '1';
    res.writeHead(d.status, headers).end(`${d.status === 401 ? 'unauthorized' : d.status === 403 ? 'forbidden' : 'unavailable'}: ${d.message}\n`);
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route: Route | null =
      path === '/metrics'
        ? 'metrics'
        : debug !== null && Object.prototype.hasOwnProperty.call(debug, path)
          ? 'debug'
          : dashboard !== null && DASHBOARD_PATHS.has(path)
            ? 'dashboard'
            : null;
    if (req.method !== 'GET' || route === null) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (auth === null) {
      serve(req, res, path, route);
      return;
    }
    const done = (d: AuthDecision) => {
      if (res.destroyed) return;
      if (d.allowed) serve(req, res, path, route);
      else refuse(req, res, d, route);
    };
    let decision: AuthDecision | Promise<AuthDecision>;
    try {
      const authorization = route === 'dashboard' ? basicAsBearer(req.headers.authorization) : req.headers.authorization;
      decision = auth.authorize(authorization, path);
    } catch (err) {
      decision = deny('unavailable', (err as Error).message);
    }
    if (decision instanceof Promise) decision.then(done, (err: Error) => done(deny('unavailable', err.message)));
    else done(decision);
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
        // Open event streams would hold the server open: end them first.
        dashboard?.close();
        server.close(() => resolve());
        // A scraper's keep-alive connection must not hold shutdown up.
        server.closeIdleConnections();
      }),
  };
}
