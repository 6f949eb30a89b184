/** Builders for the ProcessingResponse messages the stream handler sends. */
import { inferenceErrorText, type SwitchboardError } from '../../errors.js';
import { rawHeader } from './headers.js';
import type { CommonResponse, HeaderMutation, HeaderValueOption, ProcessingResponse } from './messages.js';
import { destinationMetadata } from './metadata.js';
import { DESTINATION_ENDPOINT, REQUEST_ID_HEADER } from '../../request/headers.js';

/** Which direction a body or headers response belongs to. */
export type Direction = 'request' | 'response';

/** What the request phase writes on the upstream request besides the body. */
export interface RouteMutation {
  /** `ip:port[,ip:port...]`, best first; the header and the metadata carry the same string. */
  destination: string;
  /** A request id Switchboard generated (the client sent none), or null. */
  generatedRequestId: string | null;
  /** Client-sent system headers to strip, or null. */
  removeHeaders: string[] | null;
  /** Content-Length to set (BUFFERED mode with a rewritten body), or -1. */
  contentLength: number;
}

/** The routing header mutation plus `clear_route_cache` (Envoy honours it only with a mutation). */
export function routeCommonResponse(route: RouteMutation): CommonResponse {
  const setHeaders: HeaderValueOption[] = [rawHeader(DESTINATION_ENDPOINT, route.destination)];
  if (route.generatedRequestId !== null) setHeaders.push(rawHeader(REQUEST_ID_HEADER, route.generatedRequestId));
  if (route.contentLength >= 0) setHeaders.push(rawHeader('content-length', String(route.contentLength)));
  const headerMutation: HeaderMutation = { setHeaders };
  if (route.removeHeaders !== null) headerMutation.removeHeaders = route.removeHeaders;
  return { headerMutation, clearRouteCache: true };
}

/** FULL_DUPLEX / header-only: the request-headers response that routes the request. */
export function routeHeadersResponse(route: RouteMutation): ProcessingResponse {
  return {
    requestHeaders: { response: routeCommonResponse(route) },
    dynamicMetadata: destinationMetadata(route.destination),
  };
}

/** BUFFERED: the request-body response that routes the request and, if rewritten, replaces the body. */
export function routeBufferedBodyResponse(route: RouteMutation, replacement: Buffer | null): ProcessingResponse {
  const response = routeCommonResponse(route);
  if (replacement !== null) response.bodyMutation = { body: replacement };
  return { requestBody: { response }, dynamicMetadata: destinationMetadata(route.destination) };
}

const CONTINUE_REQUEST_HEADERS: ProcessingResponse = Object.freeze({ requestHeaders: {} });
const CONTINUE_RESPONSE_HEADERS: ProcessingResponse = Object.freeze({ responseHeaders: {} });
const CONTINUE_REQUEST_BODY: ProcessingResponse = Object.freeze({ requestBody: {} });
const CONTINUE_RESPONSE_BODY: ProcessingResponse = Object.freeze({ responseBody: {} });
const TRAILERS_REQUEST: ProcessingResponse = Object.freeze({ requestTrailers: {} });
const TRAILERS_RESPONSE: ProcessingResponse = Object.freeze({ responseTrailers: {} });

/** An empty headers response: CONTINUE without mutation. */
export function continueHeaders(direction: Direction): ProcessingResponse {
  return direction === 'request' ? CONTINUE_REQUEST_HEADERS : CONTINUE_RESPONSE_HEADERS;
}

/** An empty body response: CONTINUE, body unchanged (not valid in FULL_DUPLEX_STREAMED). */
export function continueBody(direction: Direction): ProcessingResponse {
  return direction === 'request' ? CONTINUE_REQUEST_BODY : CONTINUE_RESPONSE_BODY;
}

/** An empty trailers response. */
export function trailersResponse(direction: Direction): ProcessingResponse {
  return direction === 'request' ? TRAILERS_REQUEST : TRAILERS_RESPONSE;
}

/** A body response replacing this message's body (STREAMED/BUFFERED modes); empty clears it. */
export function replaceBody(direction: Direction, body: Buffer, contentLength: number): ProcessingResponse {
  const response: CommonResponse = {
    bodyMutation: body.length === 0 ? { clearBody: true } : { body },
  };
  if (contentLength >= 0) response.headerMutation = { setHeaders: [rawHeader('content-length', String(contentLength))] };
  return direction === 'request' ? { requestBody: { response } } : { responseBody: { response } };
}

/** The local reply for a rejected request: the error's status and `inference error: <Kind> - <message>`. */
export function immediateErrorResponse(error: SwitchboardError): ProcessingResponse {
  const immediateResponse: ProcessingResponse['immediateResponse'] = {
    status: { code: error.status },
    body: Buffer.from(inferenceErrorText(error), 'utf8'),
  };
  // A spent token budget says when to come back.
  if (error.retryAfterSeconds !== null) immediateResponse.headers = { setHeaders: [rawHeader('retry-after', String(error.retryAfterSeconds))] };
  return { immediateResponse };
}
