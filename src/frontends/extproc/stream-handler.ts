/**
 * One ext_proc `Process` stream = one HTTP exchange, as a small state machine.
 *
 * Request phase (here): FULL_DUPLEX_STREAMED buffers body chunks until end_of_stream (or
 * trailers), asks the director, then answers the headers (routing header, clear_route_cache,
 * envoy.lb metadata) followed by the body as streamed_response chunks. BUFFERED answers the
 * headers with CONTINUE at once (Envoy holds the body until then) and routes in the body
 * response. Modes in which the body cannot be seen before the headers must be answered (NONE,
 * STREAMED, BUFFERED_PARTIAL) route from the headers alone. The response phase is in
 * response-phase.ts; the stream's endings (reset, half-close, timeouts) here. Messages are handled strictly in order: those arriving while the director works wait in
 * a small queue (pausing the HTTP/2 stream instead cost measurably more per exchange).
 */
import { randomUUID } from 'node:crypto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Decision, Director, InferenceRequest, Outcome, RequestLifecycle } from '../../director/types.js';
import { asRequestError, sbError, type SwitchboardError } from '../../errors.js';
import { ProtoHeaders } from './headers.js';
import {
  BodySendMode,
  bytesOf,
  type BodySendModeValue,
  type HttpBody,
  type HttpHeaders,
  type ProcessingRequest,
} from './messages.js';
import type { OutboundResponse } from './codec.js';
import { encodeRouteHeaders, encodeStreamedBody } from './fast-encode.js';
import { onResponseBody, onResponseHeaders, onResponseTrailers, type ResponseHost } from './response-phase.js';
import { bodyHandling, type BodyHandling, type Phase } from './stream-phase.js';
import { subsetHint } from './metadata.js';
import type { ExtProcMetrics } from './metrics.js';
import type { StreamLimits, Watched } from './stream-limits.js';
import { REQUEST_ID_HEADER } from '../../request/headers.js';
import {
  continueBody,
  continueHeaders,
  immediateErrorResponse,
  routeBufferedBodyResponse,
  trailersResponse,
  type Direction,
  type RouteMutation,
} from './responses.js';

/** The grpc-js call type of the Process method. */
export type ProcessCall = ServerDuplexStream<ProcessingRequest, OutboundResponse>;

/** What every stream of one server shares. */
export interface StreamContext {
  director: Director;
  /** Body mode assumed when the gateway sends no protocol_config (Envoy before 1.34). */
  defaultBodyMode: BodySendModeValue;
  /** Largest request body accepted; more gets 413. */
  maxBodyBytes: number;
  /** Whether to honour the gateway's subset hint (the Go EPP's --disable-endpoint-subset-filter inverts it). */
  honorSubsetHint: boolean;
  metrics: ExtProcMetrics;
  /** Stream count, buffered bytes and deadlines shared by all streams of the server. */
  limits: StreamLimits;
  /** Told about every stream the gateway resets, by connection (keeps connections under nghttp2's reset limit). */
  resets: { reset(peer: string): void } | null;
  logger: Logger;
}

const EMPTY = Buffer.alloc(0);

/**
 * The InferenceRequest handed to the director. Creating an AbortController costs about as much
 * as decoding the headers, and only a request that waits in admission needs one, so `signal`
 * is made when first read.
 */
class ExtProcRequest implements InferenceRequest {
  constructor(
    private readonly stream: ProcessStream,
    readonly requestId: string,
    readonly path: string,
    readonly headers: ProtoHeaders,
    readonly body: Buffer | null,
    readonly subset: readonly string[] | null,
  ) {}

  get signal(): AbortSignal {
    return this.stream.abortSignal();
  }
}

/** Handles one Process stream until it ends; never throws. */
export function handleProcessStream(call: ProcessCall, ctx: StreamContext): void {
  new ProcessStream(call, ctx).start();
}

class ProcessStream implements Watched, ResponseHost {
  private readonly call: ProcessCall;
  private readonly ctx: StreamContext;
  phase: Phase = 'request-headers';
  private requestMode: BodyHandling = 'duplex';
  responseMode: BodyHandling = 'duplex';
  /** The gateway said it sends no response body (mode NONE): the exchange is complete at the response headers. */
  responseBodyNone = false;
  private headers: ProtoHeaders | null = null;
  private requestId = '';
  private generatedRequestId: string | null = null;
  private subset: string[] | null = null;
  private chunks: Buffer[] = [];
  private bodyBytes = 0;
  /** The request had trailers: body responses keep end_of_stream false and trailers end the phase. */
  private requestTrailers = false;
  lifecycle: RequestLifecycle | null = null;
  servedReported = false;
  responseBodyEnded = false;
  private busy = false;
  /** Messages that arrived while the director was deciding, handled in order after it. */
  private queued: ProcessingRequest[] | null = null;
  private halfClosed = false;
  private ended = false;
  private abort: AbortController | null = null;
  /** Body bytes reserved in the shared buffer budget. */
  private charged = 0;
  /** Counted in the shared stream limit. */
  private registered = false;
  /** When the current wait for the gateway times out (see StreamLimits). */
  deadlineAt = Infinity;
  /** The gateway connection (`address:port`), read at start: it is gone once the stream closes. */
  private peer = '';

  constructor(call: ProcessCall, ctx: StreamContext) {
    this.call = call;
    this.ctx = ctx;
  }

  start(): void {
    const ctx = this.ctx;
    ctx.metrics.streamOpened();
    if (ctx.resets !== null) this.peer = this.call.getPeer();
    this.call.on('data', (msg: ProcessingRequest) => this.onMessage(msg));
    this.call.on('end', () => this.onHalfClose());
    this.call.on('cancelled', () => {
      this.ctx.resets?.reset(this.peer);
      this.onReset();
    });
    this.call.on('error', () => this.onReset());
    this.call.on('close', () => this.release());
    if (!ctx.limits.open(this)) {
      this.rejectLocally(sbError('SB_ERR_OVERLOADED', `${ctx.limits.options.maxActiveStreams} ext_proc streams already open`));
      return;
    }
    this.registered = true;
    this.deadlineAt = ctx.limits.deadline(ctx.limits.options.requestTimeoutMs);
  }

  /** The gateway kept us waiting past the deadline (called by the shared sweep). */
  expire(): void {
    this.deadlineAt = Infinity;
    if (this.ended || this.busy || this.phase === 'done') return;
    const o = this.ctx.limits.options;
    if (this.phase === 'request-headers' || this.phase === 'request-body') {
      // A gateway (or client) that never finishes its request must not hold a stream and its body.
      this.ctx.metrics.timeout('request');
      this.dropBody();
      this.rejectLocally(sbError('SB_ERR_REQUEST_TIMEOUT', `no complete request within ${o.requestTimeoutMs} ms`));
      return;
    }
    this.ctx.metrics.timeout('idle');
    this.fail(GrpcStatus.DEADLINE_EXCEEDED, `no message from the gateway for ${o.idleTimeoutMs} ms`, null);
  }

  // ---- inbound ---------------------------------------------------------------------------------

  private onMessage(msg: ProcessingRequest): void {
    if (this.phase === 'done') return; // Envoy ignores us after an immediate response; we ignore it too.
    if (this.busy) {
      // Strict order: wait for the decision. Envoy sends at most a few messages (trailers) here.
      (this.queued ??= []).push(msg);
      return;
    }
    try {
      this.dispatch(msg);
      // Once routed, the gateway may only be silent for the idle timeout.
      if (!this.busy && (this.phase === 'routed' || this.phase === 'response-body')) {
        this.deadlineAt = this.ctx.limits.deadline(this.ctx.limits.options.idleTimeoutMs);
      }
    } catch (err) {
      // A bug on our side must not take the process down; end this stream only.
      this.ctx.logger.error({ err }, 'ext_proc stream handler failed');
      this.fail(GrpcStatus.INTERNAL, 'internal error', 'handler_exception');
    }
  }

  private dispatch(msg: ProcessingRequest): void {
    if (msg.requestHeaders) return this.onRequestHeaders(msg, msg.requestHeaders);
    if (msg.requestBody) return this.onRequestBody(msg.requestBody);
    if (msg.requestTrailers) return this.onRequestTrailers();
    if (msg.responseHeaders) return onResponseHeaders(this, msg, msg.responseHeaders);
    if (msg.responseBody) return onResponseBody(this, msg, msg.responseBody);
    if (msg.responseTrailers) return onResponseTrailers(this);
    this.fail(GrpcStatus.INVALID_ARGUMENT, 'ProcessingRequest has no request field set', 'empty_request');
  }

  private onRequestHeaders(msg: ProcessingRequest, h: HttpHeaders): void {
    if (this.phase !== 'request-headers') return this.outOfOrder('request_headers');
    const config = msg.protocolConfig;
    if (config) {
      this.requestMode = bodyHandling(config.requestBodyMode ?? 0);
      this.responseMode = bodyHandling(config.responseBodyMode ?? 0);
      this.responseBodyNone = (config.responseBodyMode ?? 0) === BodySendMode.NONE;
    } else {
      this.requestMode = this.responseMode = bodyHandling(this.ctx.defaultBodyMode);
    }
    const headers = new ProtoHeaders(h.headers);
    this.headers = headers;
    const id = headers.get(REQUEST_ID_HEADER);
    if (id !== undefined && id !== '') {
      this.requestId = id;
    } else {
      this.requestId = this.generatedRequestId = randomUUID();
    }
    this.subset = this.ctx.honorSubsetHint ? subsetHint(msg.metadataContext) : null;

    if (h.endOfStream) {
      // Header-only request (GET, or no body): pick without a body and answer now.
      return this.decide(null);
    }
    switch (this.requestMode) {
      case 'duplex':
        this.phase = 'request-body'; // Envoy streams the body without waiting for us.
        return;
      case 'buffered':
        // Envoy holds the body until the headers are answered: answering later would deadlock.
        this.phase = 'request-body';
        this.send(continueHeaders('request'));
        return;
      case 'passthrough':
        // The body never reaches us before the headers must be answered: route on headers alone.
        return this.decide(null);
    }
  }

  private onRequestBody(b: HttpBody): void {
    if (this.phase === 'routed' && this.requestMode === 'passthrough') {
      this.send(continueBody('request')); // STREAMED / BUFFERED_PARTIAL: one answer per chunk, unchanged.
      return;
    }
    if (this.phase !== 'request-body') return this.outOfOrder('request_body');
    const chunk = bytesOf(b.body);
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.ctx.maxBodyBytes) {
      this.dropBody();
      return this.rejectLocally(sbError('SB_ERR_BODY_TOO_LARGE', this.ctx.maxBodyBytes));
    }
    if (chunk.length > 0) {
      // All streams together may hold only so much body: many slow uploads must not exhaust memory.
      if (!this.ctx.limits.reserve(chunk.length)) {
        this.dropBody();
        return this.rejectLocally(sbError('SB_ERR_OVERLOADED', `request bodies held by all streams exceed ${this.ctx.limits.options.maxBufferedBytes} bytes`));
      }
      this.charged += chunk.length;
      this.chunks.push(chunk);
    }
    // BUFFERED sends the whole body in one message (end_of_stream is false only when trailers follow).
    if (this.requestMode === 'buffered' || b.endOfStream) this.decide(this.takeBody());
  }

  private onRequestTrailers(): void {
    if (this.phase === 'request-body' && this.requestMode === 'duplex') {
      // Trailers mark the end of a FULL_DUPLEX body; body responses then keep end_of_stream false.
      this.requestTrailers = true;
      return this.decide(this.takeBody());
    }
    if (this.phase === 'routed') {
      this.send(trailersResponse('request'));
      return;
    }
    this.outOfOrder('request_trailers');
  }

  // ---- deciding --------------------------------------------------------------------------------

  private takeBody(): Buffer {
    const chunks = this.chunks;
    this.chunks = [];
    if (chunks.length === 0) return EMPTY;
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.bodyBytes);
  }

  /** Asks the director; later messages queue (strict message order) until the answer is sent. */
  private decide(body: Buffer | null): void {
    const headers = this.headers;
    if (headers === null) return this.outOfOrder('body_before_headers');
    this.busy = true;
    this.deadlineAt = Infinity; // the director bounds its own waits (admission queue TTL)
    const req = new ExtProcRequest(this, this.requestId, headers.requestPath(), headers, body, this.subset);
    let pending: Promise<Decision>;
    try {
      pending = this.ctx.director.handleRequest(req);
    } catch (err) {
      pending = Promise.resolve({ kind: 'reject', error: asRequestError(err) });
    }
    pending.then(
      (decision) => this.onDecision(decision, body),
      (err: unknown) => this.onDecision({ kind: 'reject', error: asRequestError(err) }, body),
    );
  }

  /** The request's abort signal, made on first use: most decisions never look at it. */
  abortSignal(): AbortSignal {
    if (this.ended) return AbortSignal.abort();
    this.abort ??= new AbortController();
    return this.abort.signal;
  }

  private onDecision(decision: Decision, body: Buffer | null): void {
    this.busy = false;
    this.abort = null;
    this.releaseBody();
    if (this.phase === 'done' || this.ended) {
      // The gateway went away while we were picking: release what the pick reserved.
      if (decision.kind === 'route') decision.lifecycle.finish('cancelled');
      return;
    }
    try {
      if (decision.kind === 'reject') {
        // Envoy stops processing after an immediate response; end our side too.
        this.sendImmediate(decision.error);
        this.endCall();
        return;
      } else {
        this.lifecycle = decision.lifecycle;
        this.phase = 'routed';
        this.deadlineAt = this.ctx.limits.deadline(this.ctx.limits.options.idleTimeoutMs);
        this.answerRoute(decision.destination, decision.body ?? body, decision.bodyRewritten, body === null);
      }
    } catch (err) {
      this.ctx.logger.error({ err }, 'ext_proc failed to answer a decision');
      this.fail(GrpcStatus.INTERNAL, 'internal error', 'handler_exception');
      return;
    }
    // Messages that came in meanwhile, in order; if one starts another decision (always answered
    // asynchronously), onMessage queues the rest behind it again.
    const queued = this.queued;
    this.queued = null;
    if (queued !== null) for (const m of queued) this.onMessage(m);
    if (this.halfClosed && !this.busy) this.endCall();
  }

  private answerRoute(destination: string, body: Buffer | null, rewritten: boolean, headerOnly: boolean): void {
    const buffered = !headerOnly && this.requestMode === 'buffered';
    const route: RouteMutation = {
      destination,
      generatedRequestId: this.generatedRequestId,
      removeHeaders: this.headers?.systemHeaderNames() ?? null,
      // Envoy checks Content-Length against a replaced BUFFERED body; it drops it in streamed modes.
      contentLength: buffered && rewritten && body !== null ? body.length : -1,
    };
    if (buffered) {
      this.send(routeBufferedBodyResponse(route, rewritten ? (body ?? EMPTY) : null));
      return;
    }
    this.send(encodeRouteHeaders(route));
    if (headerOnly || this.requestMode !== 'duplex') return;
    const echo = body ?? EMPTY;
    if (this.requestTrailers) {
      if (echo.length > 0) this.sendAll(encodeStreamedBody('request', echo, false));
      this.send(trailersResponse('request'));
    } else {
      this.sendAll(encodeStreamedBody('request', echo, true));
    }
  }

  // ---- endings ---------------------------------------------------------------------------------

  private rejectLocally(error: SwitchboardError): void {
    this.ctx.metrics.localRejection(error.code);
    this.sendImmediate(error);
    this.endCall();
  }

  private sendImmediate(error: SwitchboardError): void {
    this.phase = 'done';
    this.send(immediateErrorResponse(error));
  }

  /** Ends the lifecycle once; later calls are no-ops. */
  finish(outcome: Outcome): void {
    const lifecycle = this.lifecycle;
    if (lifecycle === null) return;
    this.lifecycle = null;
    lifecycle.finish(outcome);
  }

  outOfOrder(what: string): void {
    this.fail(GrpcStatus.FAILED_PRECONDITION, `unexpected ${what} in phase ${this.phase}`, 'out_of_order');
  }

  /** Forgets the request body collected so far. */
  private dropBody(): void {
    this.chunks = [];
    this.releaseBody();
  }

  /** Returns the body's bytes to the shared budget (the body itself may live on in the decision). */
  private releaseBody(): void {
    if (this.charged === 0) return;
    this.ctx.limits.release(this.charged);
    this.charged = 0;
  }

  /**
   * Ends the stream with a gRPC error: Envoy answers the client 500 (or fails open if configured).
   * `reason` labels a protocol violation by the gateway; null for other causes (timeouts).
   */
  private fail(code: GrpcStatus, details: string, reason: string | null): void {
    if (reason !== null) this.ctx.metrics.protocolError(reason);
    this.ctx.logger.warn({ requestId: this.requestId, reason: reason ?? 'timeout', details }, 'ext_proc stream failed');
    this.dropBody();
    this.deadlineAt = Infinity;
    this.phase = 'done';
    this.finish('error');
    if (this.ended) return;
    this.ended = true;
    this.call.emit('error', { code, details });
  }

  private onHalfClose(): void {
    this.halfClosed = true;
    if (!this.busy) this.endCall();
  }

  /** RST_STREAM or transport error: a normal way for Envoy to end a stream. */
  private onReset(): void {
    this.ended = true;
    this.dropBody();
    this.deadlineAt = Infinity;
    this.abort?.abort();
    this.finish(this.responseBodyEnded ? 'ok' : 'cancelled');
    this.phase = 'done';
  }

  private endCall(): void {
    this.finish(this.responseBodyEnded ? 'ok' : 'cancelled');
    this.phase = 'done';
    this.deadlineAt = Infinity;
    if (this.ended) return;
    this.ended = true;
    // Drain whatever the client still sends so the stream can close and be released.
    this.call.resume();
    this.call.end();
  }

  private release(): void {
    if (!this.ended) this.onReset();
    this.dropBody();
    if (this.registered) {
      this.registered = false;
      this.ctx.limits.close(this);
    }
    this.ctx.metrics.streamClosed();
  }

  // ---- outbound --------------------------------------------------------------------------------

  send(msg: OutboundResponse): void {
    if (this.ended) return;
    this.call.write(msg);
  }

  sendAll(msgs: OutboundResponse[]): void {
    for (let i = 0; i < msgs.length; i++) this.send(msgs[i]);
  }
}

/** For tests: the direction type is part of the handler's vocabulary. */
export type { Direction };
