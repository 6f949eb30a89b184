/**
 * Errors as OpenAI clients expect them: `{"error":{"message","type","param","code"}}` with the
 * error's HTTP status, and the same object as an SSE event when a stream breaks off.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorKind, SwitchboardError } from '../../errors.js';

/** The OpenAI `error.type` for each of our error kinds. */
const TYPE_BY_KIND: Record<ErrorKind, string> = {
  BadRequest: 'invalid_request_error',
  Unauthorized: 'authentication_error',
  Forbidden: 'permission_error',
  NotFound: 'not_found_error',
  PayloadTooLarge: 'invalid_request_error',
  ResourceExhausted: 'rate_limit_error',
  Internal: 'server_error',
  ServiceUnavailable: 'service_unavailable_error',
  BadGateway: 'upstream_error',
  GatewayTimeout: 'timeout_error',
  RequestTimeout: 'timeout_error',
  BadConfiguration: 'server_error',
};

/** The JSON text of an OpenAI-style error body for `err`. */
export function openAIErrorJson(err: SwitchboardError): string {
  return JSON.stringify({
    error: { message: err.message, type: TYPE_BY_KIND[err.kind], param: null, code: err.code },
  });
}

/** The SSE event that tells a streaming client its stream failed (the openai SDK raises it). */
export function openAIErrorEvent(err: SwitchboardError): string {
  return `data: ${openAIErrorJson(err)}\n\n`;
}

/**
 * Answers `res` with `err` unless the response has started. `extra` is a flat
 * `[name, value, ...]` list of headers to add (request id, served endpoint).
 */
export function writeOpenAIError(res: ServerResponse, err: SwitchboardError, extra: readonly string[] = []): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = openAIErrorJson(err);
  const headers: string[] = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body))];
  // A spent token budget says when to come back (the openai SDK honours retry-after).
  if (err.retryAfterSeconds !== null) headers.push('retry-after', String(err.retryAfterSeconds));
  for (let i = 0; i < extra.length; i++) headers.push(extra[i]);
  res.writeHead(err.status, headers);
  res.end(body);
}
