/** Where one ext_proc exchange is, and how a body mode is handled: shared by both phases' code. */
import { BodySendMode } from './messages.js';

export type Phase =
  | 'request-headers' // waiting for request_headers
  | 'request-body' // collecting the request body
  | 'routed' // request answered; waiting for the response (or request trailers / passthrough body)
  | 'response-body' // response headers answered; body in flight
  | 'done'; // exchange over (finished, rejected, reset or broken)

/** How a body mode is handled. */
export type BodyHandling = 'duplex' | 'buffered' | 'passthrough';

export function bodyHandling(mode: number): BodyHandling {
  if (mode === BodySendMode.FULL_DUPLEX_STREAMED || mode === BodySendMode.GRPC) return 'duplex';
  if (mode === BodySendMode.BUFFERED) return 'buffered';
  return 'passthrough';
}
