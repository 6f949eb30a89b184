/**
 * The response phase of one ext_proc exchange: the response headers are answered at once (and
 * reported to the request's lifecycle with the endpoint that really served it), body chunks pass
 * through the lifecycle (streams are echoed immediately, JSON held only as long as usage parsing
 * needs), trailers are answered. Plain functions over the stream's state: no object per exchange.
 */
import type { Outcome, RequestLifecycle } from '../../director/types.js';
import type { OutboundResponse } from './codec.js';
import { encodeStreamedBody } from './fast-encode.js';
import { ProtoHeaders } from './headers.js';
import { bytesOf, type HttpBody, type HttpHeaders, type ProcessingRequest } from './messages.js';
import { servedEndpoint } from './metadata.js';
import { continueBody, continueHeaders, replaceBody, trailersResponse } from './responses.js';
import type { BodyHandling, Phase } from './stream-phase.js';

const EMPTY = Buffer.alloc(0);

/** What the response phase reads and changes of a stream. */
export interface ResponseHost {
  phase: Phase;
  responseMode: BodyHandling;
  /** The gateway said it sends no response body (mode NONE): the exchange is complete at the response headers. */
  responseBodyNone: boolean;
  lifecycle: RequestLifecycle | null;
  servedReported: boolean;
  responseBodyEnded: boolean;
  send(msg: OutboundResponse): void;
  sendAll(msgs: OutboundResponse[]): void;
  /** Ends the lifecycle once. */
  finish(outcome: Outcome): void;
  outOfOrder(what: string): void;
}

export function onResponseHeaders(s: ResponseHost, msg: ProcessingRequest, h: HttpHeaders): void {
  if (s.phase !== 'routed') return s.outOfOrder('response_headers');
  const lifecycle = s.lifecycle;
  reportServed(s, msg);
  if (lifecycle !== null) {
    const headers = new ProtoHeaders(h.headers);
    // Envoy sends `:status`; the Go EPP's harness sends `status`.
    const statusText = headers.get(':status') ?? headers.get('status');
    const status = statusText === undefined ? 0 : Number.parseInt(statusText, 10) || 0;
    lifecycle.responseHeaders(status, headers.get('content-type'));
  }
  s.send(continueHeaders('response'));
  if (h.endOfStream) {
    s.responseBodyEnded = true;
    s.finish('ok');
    s.phase = 'done';
    return;
  }
  s.phase = 'response-body';
  if (s.responseBodyNone) {
    // The body goes to the client without us; trailers (if any) may still come and be answered.
    s.responseBodyEnded = true;
    s.finish('ok');
  }
}

export function onResponseBody(s: ResponseHost, msg: ProcessingRequest, b: HttpBody): void {
  if (s.phase !== 'response-body') return s.outOfOrder('response_body');
  if (!s.servedReported) reportServed(s, msg);
  const chunk = bytesOf(b.body);
  const eos = b.endOfStream === true;
  const lifecycle = s.lifecycle;
  switch (s.responseMode) {
    case 'duplex': {
      const out = lifecycle === null ? chunk : lifecycle.responseBody(chunk, eos);
      if (out !== null) s.sendAll(encodeStreamedBody('response', out, eos));
      else if (eos) s.sendAll(encodeStreamedBody('response', EMPTY, true));
      break;
    }
    case 'buffered': {
      // The whole body in one message, even when trailers follow.
      const out = lifecycle === null ? chunk : lifecycle.responseBody(chunk, true);
      if (out === null || out === chunk) s.send(continueBody('response'));
      else s.send(replaceBody('response', out, out.length));
      break;
    }
    case 'passthrough': {
      const out = lifecycle === null ? chunk : lifecycle.responseBody(chunk, eos);
      if (out === chunk) s.send(continueBody('response'));
      else s.send(replaceBody('response', out ?? EMPTY, -1));
      break;
    }
  }
  if (eos || s.responseMode === 'buffered') s.responseBodyEnded = true;
  if (eos) {
    s.finish('ok');
    s.phase = 'done';
  }
}

export function onResponseTrailers(s: ResponseHost): void {
  if (s.phase !== 'response-body' && s.phase !== 'routed') return s.outOfOrder('response_trailers');
  if (s.phase === 'response-body' && !s.responseBodyEnded && s.responseMode !== 'buffered') {
    // Trailers end the body: flush whatever the lifecycle still holds, without end_of_stream.
    const out = s.lifecycle?.responseBody(EMPTY, true) ?? null;
    if (out !== null && out.length > 0) {
      if (s.responseMode === 'duplex') s.sendAll(encodeStreamedBody('response', out, false));
    }
    s.responseBodyEnded = true;
  }
  s.send(trailersResponse('response'));
  s.finish('ok');
  s.phase = 'done';
}

/** Tells the lifecycle which endpoint really served the request (the gateway's feedback). */
function reportServed(s: ResponseHost, msg: ProcessingRequest): void {
  const served = servedEndpoint(msg.metadataContext);
  if (served !== null && s.lifecycle !== null) {
    s.servedReported = true;
    s.lifecycle.served(served);
  }
}
