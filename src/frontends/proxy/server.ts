/**
 * The OpenAI-compatible proxy front door: a fastify server whose inference routes are scheduled
 * by the director and forwarded to pods with undici, plus `/v1/models`, `/health` and `/ready`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { isSwitchboardError, sbError, type SwitchboardError } from '../../errors.js';
import { BodyBudget } from './body-budget.js';
import type { Director } from '../../director/types.js';
import type { EndpointPool } from '../../pool/pool.js';
import { ProxyExchange, type ProxyContext, type ProxyLogger } from './exchange.js';
import { answerExpectContinue } from './expect-continue.js';
import { closeLingering } from './lingering-close.js';
import { NodeHeaderSource, requestIdOf, upstreamRequestHeaders, wantsExplanation } from './headers.js';
import { ModelCatalog } from './model-catalog.js';
import { openAIErrorJson, writeOpenAIError } from './openai-error.js';
import { resolveProxySettings, type ProxySettings, type ProxySettingsInput } from './options.js';
import { ProxyMetrics } from './proxy-metrics.js';
import { ProxyRequest } from './proxy-request.js';
import { retryInterceptor } from './retry-interceptor.js';
import { UpstreamPools } from './upstream-pools.js';

/** The OpenAI endpoints that are scheduled and forwarded. */
export const INFERENCE_PATHS = ['/v1/completions', '/v1/chat/completions', '/v1/embeddings', '/v1/responses'] as const;

/** What `startProxyServer` needs. */
export interface ProxyServerOptions {
  director: Director;
  /** The endpoint pool the director schedules over. */
  pool: EndpointPool;
  /** Listen port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Listen address. Default 0.0.0.0. */
  host?: string;
  settings?: ProxySettingsInput;
  logger?: ProxyLogger;
  /** Registry for the proxy's own counters; null or absent: not exported. */
  registry?: Registry | null;
  /** Readiness check; default: discovery synced and at least one endpoint. */
  ready?: () => boolean;
}

/** A running proxy. */
export interface ProxyServer {
  address: AddressInfo;
  /** `http://host:port` of the listener. */
  url: string;
  settings: ProxySettings;
  catalog: ModelCatalog;
  /** Requests between arrival and their last byte. */
  readonly activeRequests: number;
  /** Stops taking requests (503, `/ready` fails), waits for in-flight ones up to the drain timeout, closes. */
  drain(): Promise<void>;
  /** Closes now: open requests are cut off (and finish as cancelled). */
  close(): Promise<void>;
}

const noopLogger: ProxyLogger = { warn: () => undefined };
const EMPTY_BODY = Buffer.alloc(0);

/** Starts the proxy and resolves once it listens. */
export async function startProxyServer(options: ProxyServerOptions): Promise<ProxyServer> {
  const settings = resolveProxySettings(options.settings);
  const pool = options.pool;
  const upstreams = new UpstreamPools(pool, settings);
  const catalog = new ModelCatalog(pool, upstreams, settings.modelsRefreshMs);
  const metrics = new ProxyMetrics(options.registry ?? null);
  const isReady = options.ready ?? (() => pool.synced && pool.size > 0);
  let active = 0;
  let draining = false;
  let drained: (() => void) | null = null;

  const ctx: ProxyContext = {
    director: options.director,
    upstream: upstreams.intercept(retryInterceptor({ ...settings.retries, endpoints: pool, metrics })),
    metrics,
    logger: options.logger ?? noopLogger,
    onExchangeDone() {
      active--;
      if (active === 0 && drained !== null) drained();
    },
  };

  const app = Fastify({
    logger: false,
    bodyLimit: settings.maxBodyBytes,
    routerOptions: { ignoreTrailingSlash: true },
    // Bound the time to receive a whole request (slow uploads); answers may stream far longer.
    requestTimeout: 120_000,
    return503OnClosing: true,
  });
  registerBodyParser(app);
  const budget = new BodyBudget(settings.maxBufferedBytes, settings.maxBodyBytes);
  budget.install(app);
  const refusals = new BodyRefusals(settings, budget, metrics);
  answerExpectContinue(app.server, (req) => refusals.atHeaders(req), (req, res, err) => refusals.answer(req, res, err));
  registerErrorHandlers(app, settings, refusals);

  /** One inference request; `path` is the route's (what the director sees as the API shape). */
  const inference = (path: string, request: FastifyRequest, reply: FastifyReply): void => {
    reply.hijack();
    const res = reply.raw;
    const headers = request.headers;
    const requestId = requestIdOf(headers);
    if (draining) {
      metrics.error('SB_ERR_SHUTTING_DOWN');
      writeOpenAIError(res, sbError('SB_ERR_SHUTTING_DOWN'), ['x-request-id', requestId, 'connection', 'close']);
      return;
    }
    // Every inference route is a POST with a JSON body: an empty one is inspected (and refused), not routed as header-only.
    const body = (request.body as Buffer | undefined) ?? EMPTY_BODY;
    // The pod gets the route's path with the client's query (a trailing slash is dropped).
    const url = request.url;
    const q = url.length === path.length ? -1 : url.indexOf('?');
    // subset null: the proxy has no gateway, and a client cannot narrow the pick.
    const req = new ProxyRequest(requestId, path, new NodeHeaderSource(headers), body, null, wantsExplanation(headers));
    active++;
    const exchange = new ProxyExchange(ctx, res, req, q < 0 ? path : path + url.slice(q), upstreamRequestHeaders(headers, requestId));
    exchange.run().catch((err: unknown) => {
      ctx.logger.warn({ requestId, err }, 'proxy: exchange failed');
      res.destroy();
    });
  };
  // A closure per route hands over its path: fastify's `request.routeOptions` builds an object per call.
  for (const path of INFERENCE_PATHS) app.post(path, (request, reply) => inference(path, request, reply));

  app.get('/v1/models', async (_req, reply) => {
    if (catalog.models().length === 0) await catalog.refresh();
    return reply.type('application/json').send(catalog.body());
  });
  app.get<{ Params: { model: string } }>('/v1/models/:model', async (req, reply) => {
    if (catalog.models().length === 0) await catalog.refresh();
    const card = catalog.card(req.params.model);
    if (card !== undefined) return reply.send(card);
    return refusals.send(req, reply, sbError('SB_ERR_NOT_FOUND', `model ${JSON.stringify(req.params.model)} is not served by any endpoint`));
  });
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_req, reply) => {
    const ready = !draining && isReady();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : draining ? 'draining' : 'not ready', endpoints: pool.size });
  });

  try {
    await app.listen({ port: options.port ?? 8080, host: options.host ?? '0.0.0.0' });
  } catch (err) {
    // Port taken, say: drop the pool subscriptions made above before failing.
    catalog.stop();
    await upstreams.shutdown(true);
    throw err;
  }
  void catalog.start();
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      catalog.stop();
      const closed = app.close();
      app.server.closeAllConnections();
      await closed;
      await upstreams.shutdown(true);
    })();
    return closing;
  };

  return {
    address,
    url: `http://${host}:${address.port}`,
    settings,
    catalog,
    get activeRequests() {
      return active;
    },
    async drain() {
      draining = true;
      if (active > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, settings.drainTimeoutMs);
          timer.unref();
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      await close();
    },
    close,
  };
}

/** Inference bodies are kept as raw bytes whatever the content type: the director parses them. */
function registerBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
}

/** Every error fastify raises itself (404, 413, malformed request) leaves in the OpenAI shape. */
function registerErrorHandlers(app: FastifyInstance, settings: ProxySettings, refusals: BodyRefusals): void {
  app.setNotFoundHandler((req, reply) => {
    const what = `${req.method} ${req.url}`.slice(0, 200);
    return refusals.send(req, reply, sbError('SB_ERR_NOT_FOUND', `no route for ${what}`));
  });
  app.setErrorHandler((error: FastifyError, req, reply) => {
    let err: SwitchboardError;
    if (isSwitchboardError(error)) err = error;
    else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') err = sbError('SB_ERR_BODY_TOO_LARGE', settings.maxBodyBytes);
    else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      err = sbError('SB_ERR_BAD_REQUEST_SHAPE', error.message);
    } else err = sbError('SB_ERR_INTERNAL', error.message);
    return refusals.send(req, reply, err);
  });
}

/**
 * Errors answered before a request's body was read: counted, in the OpenAI shape, and, when the
 * body is still arriving, followed by a lingering close so a client still writing reads them.
 */
class BodyRefusals {
  constructor(
    private readonly settings: ProxySettings,
    private readonly budget: BodyBudget,
    private readonly metrics: ProxyMetrics,
  ) {}

  /** The refusal a request earns by its declared length alone: over the limit, then over the budget. */
  atHeaders(req: IncomingMessage): SwitchboardError | null {
    const declared = Number(req.headers['content-length']);
    if (!Number.isFinite(declared) || declared < 0) return null;
    if (declared > this.settings.maxBodyBytes) return sbError('SB_ERR_BODY_TOO_LARGE', this.settings.maxBodyBytes);
    return this.budget.fits(declared) ? null : this.budget.refusal();
  }

  /** Answers a request fastify has not taken (an `Expect: 100-continue` one) with `err`. */
  answer(req: IncomingMessage, res: ServerResponse, err: SwitchboardError): void {
    this.metrics.error(err.code);
    this.linger(req, res);
    writeOpenAIError(res, err, ['x-request-id', requestIdOf(req.headers)]);
  }

  /** Answers through fastify with `err`. */
  send(req: FastifyRequest, reply: FastifyReply, err: SwitchboardError): FastifyReply {
    this.metrics.error(err.code);
    if (!req.raw.complete) this.linger(req.raw, reply.raw);
    return reply.code(err.status).type('application/json').send(openAIErrorJson(err));
  }

  private linger(req: IncomingMessage, res: ServerResponse): void {
    closeLingering(req, res, this.settings.lingeringClose, (end, bytes) => this.metrics.lingeringClose(end, bytes));
  }
}
