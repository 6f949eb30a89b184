/**
 * Header handling between the client, the core and the pod: what the director sees, what is
 * forwarded upstream, and what goes back to the client.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { DESTINATION_ENDPOINT_SERVED, REQUEST_ID_HEADER, isSystemOwnedHeader, type HeaderSource } from '../../request/headers.js';

/** Response header naming the pod that served the request. */
export const SERVED_HEADER = DESTINATION_ENDPOINT_SERVED;
/** Request header asking for debug output; `explain` returns the scheduling explanation. */
export const DEBUG_HEADER = 'x-switchboard-debug';
/** Response header carrying the scheduling explanation as JSON. */
export const EXPLANATION_HEADER = 'x-switchboard-explanation';
/** Longest explanation header we send; larger ones keep only the picked endpoints. */
const MAX_EXPLANATION_BYTES = 16 * 1024;

/** Node's lower-cased request headers as the core's `HeaderSource`. */
export class NodeHeaderSource implements HeaderSource {
  constructor(private readonly headers: IncomingHttpHeaders) {}

  get(name: string): string | undefined {
    const v = this.headers[name];
    return typeof v === 'string' ? v : v?.[0];
  }
}

/** The client's `x-request-id` when it is usable, else a fresh UUID. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const v = headers[REQUEST_ID_HEADER];
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : randomUUID();
}

/** Whether the client asked for the scheduling explanation. */
export function wantsExplanation(headers: IncomingHttpHeaders): boolean {
  const v = headers[DEBUG_HEADER];
  return typeof v === 'string' && v.includes('explain');
}

/**
 * Request headers never forwarded: hop-by-hop ones, those undici sets itself (host, length),
 * accept-encoding (a compressed answer could not be parsed for usage or rewritten), and the
 * request id, which is re-added with the value the core used.
 */
const DROPPED_REQUEST_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'content-length',
  'accept-encoding',
  REQUEST_ID_HEADER,
  DEBUG_HEADER,
]);

/** The flat `[name, value, ...]` header list sent to the pod. */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders, requestId: string): string[] {
  const out: string[] = [];
  for (const name in headers) {
    // Routing headers are ours to set: a client's copies are dropped, never honoured.
    if (DROPPED_REQUEST_HEADERS.has(name) || isSystemOwnedHeader(name)) continue;
    const v = headers[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(name, v);
    else for (const item of v) out.push(name, item);
  }
  out.push(REQUEST_ID_HEADER, requestId);
  return out;
}

/** Response headers of the pod never passed to the client (hop-by-hop, or set by us). */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'trailer',
  'upgrade',
  REQUEST_ID_HEADER,
  SERVED_HEADER,
  EXPLANATION_HEADER,
]);

/** What the proxy needs from a pod's response headers. */
export interface ResponseHeaderInfo {
  /** Flat `[name, value, ...]` list for `writeHead`. */
  headers: string[];
  contentType: string | undefined;
}

/**
 * Converts undici's raw response headers to the list sent to the client. `dropLength` drops
 * `content-length` when the body may be rewritten (its length can change).
 */
export function clientResponseHeaders(raw: ReadonlyArray<Buffer | string>, dropLength: boolean): ResponseHeaderInfo {
  const headers: string[] = [];
  let contentType: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]).toLowerCase();
    if (DROPPED_RESPONSE_HEADERS.has(name) || (dropLength && name === 'content-length')) continue;
    const value = latin1(raw[i + 1]);
    if (name === 'content-type') contentType = value;
    headers.push(name, value);
  }
  return { headers, contentType };
}

function latin1(b: Buffer | string): string {
  return typeof b === 'string' ? b : b.toString('latin1');
}

/** The explanation as a header value, trimmed to the picked endpoints when it is too long. */
export function explanationHeaderValue(explanation: { picked: string[]; endpoints: Array<{ endpoint: string }> }): string {
  const full = asciiJson(explanation);
  if (full.length <= MAX_EXPLANATION_BYTES) return full;
  const picked = new Set(explanation.picked);
  const endpoints = explanation.endpoints.filter((e) => picked.has(e.endpoint));
  return asciiJson({ ...explanation, endpoints, omittedEndpoints: explanation.endpoints.length - endpoints.length });
}

/** JSON with non-ASCII escaped: header values must not carry characters above 0xFF. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
