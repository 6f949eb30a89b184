/**
 * One client request through the proxy: ask the director, hand the decision to the upstream
 * dispatcher, stream the answer back, and report every step to the decision's lifecycle.
 *
 * The exchange is the request's undici `DispatchHandler` (the client side: status, headers and
 * body to the hijacked Node response, backpressure, errors in the OpenAI shape) and its
 * `UpstreamRoute` (the decision's endpoints and a new pick). Attempts, fallbacks and re-picks are
 * the retry interceptor's (retry-interceptor.ts, retry-handler.ts), composed on the per-pod pools.
 * The pod's status and headers are held until the first body bytes, so an attempt that fails
 * before them leaves nothing behind at the client.
 */
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { asRequestError, sbError, type SwitchboardError } from '../../errors.js';
import type { Director, Outcome, RequestLifecycle, RoutedDecision } from '../../director/types.js';
import type { Endpoint } from '../../pool/endpoint.js';
import { SERVED_HEADER, EXPLANATION_HEADER, clientResponseHeaders, explanationHeaderValue } from './headers.js';
import { openAIErrorEvent, writeOpenAIError } from './openai-error.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import type { ProxyRequest } from './proxy-request.js';
import type { ResponseHeaders, RoutedDispatchOptions, UpstreamRoute } from './upstream-route.js';
import { classifyUpstreamError, UpstreamError } from './upstream-failure.js';

/** The little logging the proxy does (pino's signature); warnings only, off the hot path. */
export interface ProxyLogger {
  warn(obj: object, msg: string): void;
}

/** What every exchange shares; built once when the server starts. */
export interface ProxyContext {
  director: Director;
  /** The per-pod pools with the retry interceptor composed on them. */
  upstream: Pick<Dispatcher, 'dispatch'>;
  metrics: ProxyMetrics;
  logger: ProxyLogger;
  /** Called once when an exchange ends, whatever the outcome. */
  onExchangeDone(): void;
}

const DECIDING = 0;
/** An attempt is under way and nothing has been sent to the client yet. */
const WAITING = 1;
const STREAMING = 2;
const DONE = 3;

const EMPTY = Buffer.alloc(0);
const kExchange = Symbol('switchboard.exchange');

/** Aborts the upstream request of a client that went away. */
class ClientGoneError extends Error {
  readonly code = 'SB_CLIENT_GONE';
}

// Listeners take the exchange from the response instead of closing over it: no allocation per request.
function onResponseClose(this: ServerResponse): void {
  (this as ServerResponse & { [kExchange]: ProxyExchange })[kExchange].clientClosed();
}
function onResponseDrain(this: ServerResponse): void {
  (this as ServerResponse & { [kExchange]: ProxyExchange })[kExchange].clientDrained();
}

export class ProxyExchange implements Dispatcher.DispatchHandler, UpstreamRoute {
  private state = DECIDING;
  private lifecycle: RequestLifecycle | null = null;
  /** The current decision's endpoints, best first (UpstreamRoute). */
  endpoints: readonly Endpoint[] = [];
  /** The current decision's body (UpstreamRoute). */
  body: Buffer | null = null;
  /** The pod of the current attempt. */
  private endpoint: Endpoint | null = null;
  private controller: Dispatcher.DispatchController | null = null;
  private paused = false;
  private sse = false;
  private dropLength = false;
  private explanation: string | null = null;
  /** Status and headers for the client, held until the first body bytes. */
  private headStatus = 0;
  private head: string[] | null = null;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly res: ServerResponse,
    private readonly request: ProxyRequest,
    private readonly upstreamPath: string,
    private readonly upstreamHeaders: string[],
  ) {
    (res as ServerResponse & { [kExchange]: ProxyExchange })[kExchange] = this;
    res.on('close', onResponseClose);
  }

  /** Schedules the request and starts forwarding it; resolves once the director has answered. */
  async run(): Promise<void> {
    let decision;
    try {
      decision = await this.ctx.director.handleRequest(this.request);
    } catch (err) {
      decision = { kind: 'reject' as const, error: asRequestError(err) };
    }
    if (decision.kind === 'reject') {
      if (this.state !== DONE) this.answerError(decision.error);
      return;
    }
    if (this.state === DONE) {
      decision.lifecycle.finish('cancelled'); // the client left while the request was admitted
      return;
    }
    this.adopt(decision);
    // Every field the interceptor sets per attempt is here from the start: one object shape.
    const opts: RoutedDispatchOptions = { origin: '', method: 'POST', path: this.upstreamPath, headers: this.upstreamHeaders, body: null, route: this };
    this.ctx.upstream.dispatch(opts, this);
  }

  // --- UpstreamRoute ---

  get open(): boolean {
    return this.state !== DONE;
  }

  /** The client's headers are built from the raw ones (`clientResponseHeaders`). */
  readonly parsedHeaders = false;

  attempting(endpoint: Endpoint): void {
    this.state = WAITING;
    this.endpoint = endpoint;
    this.head = null;
  }

  /**
   * The failed decision's accounting ends (freeing its in-flight slot, without counting the
   * request twice) and the director picks again, never a pod that failed.
   */
  async repick(failed: readonly string[]): Promise<boolean> {
    this.finishLifecycle('retried');
    this.state = DECIDING;
    let decision;
    try {
      decision = await this.ctx.director.handleRequest(this.request.retryExcluding(failed));
    } catch {
      return false;
    }
    if (decision.kind === 'reject') return false;
    if (this.state === DONE) {
      decision.lifecycle.finish('cancelled');
      return false;
    }
    this.adopt(decision);
    return true;
  }

  // --- undici dispatch handler ---

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.state === DONE) controller.abort(new ClientGoneError('client disconnected'));
    else this.controller = controller;
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHeaders): void {
    const ep = this.endpoint as Endpoint;
    const lc = this.lifecycle as RequestLifecycle;
    lc.served(ep.key);
    const info = clientResponseHeaders(rawHeadersOf(controller, headers), this.dropLength);
    this.sse = info.contentType !== undefined && info.contentType.startsWith('text/event-stream');
    lc.responseHeaders(statusCode, info.contentType);
    const h = info.headers;
    h.push('x-request-id', this.request.requestId, SERVED_HEADER, ep.key);
    if (this.explanation !== null) h.push(EXPLANATION_HEADER, this.explanation);
    this.headStatus = statusCode;
    this.head = h;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.state = STREAMING;
    const out = (this.lifecycle as RequestLifecycle).responseBody(chunk, false);
    if (out === null || out.length === 0) return;
    this.flushHead();
    if (this.res.write(out)) return;
    // Client socket full: pause the pod until it drains (backpressure end to end).
    this.paused = true;
    controller.pause();
    this.res.once('drain', onResponseDrain);
  }

  onResponseEnd(): void {
    if (this.state === DONE) return;
    const lc = this.lifecycle as RequestLifecycle;
    const tail = lc.responseBody(EMPTY, true);
    this.state = DONE;
    this.controller = null;
    this.flushHead();
    if (tail !== null && tail.length > 0) this.res.end(tail);
    else this.res.end();
    this.finishLifecycle('ok');
    this.ctx.onExchangeDone();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.controller = null;
    if (this.state === DONE) return; // our own abort after the client left
    const e = err instanceof UpstreamError ? err : unexpected(err, this.endpoint);
    if (this.state === STREAMING) this.breakOff(e.endpointKey ?? '', e.detail);
    else this.giveUp(e);
  }

  // --- client side ---

  /** The client connection closed; if the response had not ended the client gave up. */
  clientClosed(): void {
    if (this.state === DONE || this.res.writableFinished) return;
    this.state = DONE;
    this.ctx.metrics.clientCancel();
    this.request.abort();
    const c = this.controller;
    this.controller = null;
    if (c !== null && !c.aborted) c.abort(new ClientGoneError('client disconnected'));
    this.finishLifecycle('cancelled');
    this.ctx.onExchangeDone();
  }

  /** The client socket drained: let the pod send again. */
  clientDrained(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.state === STREAMING) this.controller?.resume();
  }

  // --- internals ---

  private adopt(decision: RoutedDecision): void {
    this.lifecycle = decision.lifecycle;
    this.endpoints = decision.endpoints;
    this.body = decision.body;
    // A rewritten request gets its model name mapped back in the answer, which changes its length.
    this.dropLength = decision.bodyRewritten;
    this.explanation = decision.explanation === null ? null : explanationHeaderValue(decision.explanation);
  }

  /** Sends the held status and headers to the client (once). */
  private flushHead(): void {
    const h = this.head;
    if (h === null) return;
    this.head = null;
    this.res.writeHead(this.headStatus, h);
  }

  /** No attempt left before the response started: answer the client with the last failure. */
  private giveUp(e: UpstreamError): void {
    const err = e.error;
    this.ctx.logger.warn({ requestId: this.request.requestId, failed: e.failed, code: err.code }, `proxy: ${err.message}`);
    this.finishLifecycle('error', err.code);
    this.answerError(err);
  }

  /** The pod failed after the response started: end the client's stream with an error. */
  private breakOff(key: string, reason: string): void {
    const err = sbError('SB_ERR_UPSTREAM_BROKEN', key, reason);
    this.ctx.logger.warn({ requestId: this.request.requestId, endpoint: key }, `proxy: ${err.message}`);
    this.state = DONE;
    this.ctx.metrics.error(err.code);
    // An SSE client gets a last `data: {"error":...}` event (the openai SDK raises it); a plain
    // body is cut off, so the client cannot take a truncated JSON for a whole one.
    if (this.sse && this.res.headersSent && !this.res.destroyed) this.res.end(openAIErrorEvent(err));
    else writeOpenAIError(this.res, err, ['x-request-id', this.request.requestId]);
    this.finishLifecycle('error', err.code);
    this.ctx.onExchangeDone();
  }

  private answerError(err: SwitchboardError): void {
    this.state = DONE;
    this.ctx.metrics.error(err.code);
    writeOpenAIError(this.res, err, ['x-request-id', this.request.requestId]);
    this.ctx.onExchangeDone();
  }

  private finishLifecycle(outcome: Outcome, code?: string): void {
    const lc = this.lifecycle;
    if (lc === null) return;
    this.lifecycle = null;
    lc.finish(outcome, code);
  }
}

/** undici's raw response headers (kept by its pools); rebuilt from the parsed ones elsewhere. */
function rawHeadersOf(controller: Dispatcher.DispatchController, headers: ResponseHeaders): ReadonlyArray<Buffer | string> {
  const raw = controller.rawHeaders;
  if (Array.isArray(raw)) return raw;
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push(name, v);
  }
  return out;
}

/** An error that did not come through the retry interceptor (a dispatcher without it). */
function unexpected(err: Error, endpoint: Endpoint | null): UpstreamError {
  const key = endpoint?.key ?? 'upstream';
  const failure = classifyUpstreamError(err, key);
  return new UpstreamError(failure.error, failure.detail, key, []);
}
