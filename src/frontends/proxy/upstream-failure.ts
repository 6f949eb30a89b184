/**
 * Classifies an error from undici into what the proxy does next: retry elsewhere or answer the
 * client, and with which coded error.
 */
import { sbError, type SwitchboardError } from '../../errors.js';
import type { UpstreamFailureReason } from './proxy-metrics.js';

/** One failed attempt. */
export interface UpstreamFailure {
  reason: UpstreamFailureReason;
  /** Safe to send the request elsewhere, provided nothing reached the client yet. */
  retryable: boolean;
  /** What the client gets when no retry is left. */
  error: SwitchboardError;
  /** What went wrong, in a few words (for a stream broken off after it started). */
  detail: string;
}

/** A pod answered 5xx before any body reached the client; raised to retry on another pod. */
export class UpstreamStatusError extends Error {
  readonly code = 'SB_UPSTREAM_STATUS';
  constructor(readonly status: number) {
    super(`answered HTTP ${status}`);
  }
}

/** Errors where the request never reached a model server. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
/** The connection broke before a response: the pod crashed, restarted or closed a stale keep-alive. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

/** Classifies `err`, raised by an attempt on the pod `endpointKey`. */
export function classifyUpstreamError(err: unknown, endpointKey: string): UpstreamFailure {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const failure = (reason: UpstreamFailureReason, retryable: boolean, error: SwitchboardError, detail: string): UpstreamFailure => ({
    reason,
    retryable,
    error,
    detail,
  });
  if (err instanceof UpstreamStatusError) {
    return failure('status_5xx', true, sbError('SB_ERR_UPSTREAM_UNAVAILABLE', endpointKey, message), message);
  }
  if (typeof code === 'string') {
    if (CONNECT_CODES.has(code)) return failure('connect', true, sbError('SB_ERR_UPSTREAM_CONNECT', endpointKey, code), code);
    if (code === 'UND_ERR_CONNECT_TIMEOUT') {
      return failure('connect_timeout', true, sbError('SB_ERR_UPSTREAM_TIMEOUT', endpointKey, 'connect timeout'), 'connect timeout');
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      const detail = 'no response headers in time';
      return failure('first_byte_timeout', true, sbError('SB_ERR_UPSTREAM_TIMEOUT', endpointKey, detail), detail);
    }
    if (code === 'UND_ERR_BODY_TIMEOUT') {
      const detail = 'response body stalled';
      return failure('idle_timeout', false, sbError('SB_ERR_UPSTREAM_TIMEOUT', endpointKey, detail), detail);
    }
    if (RESET_CODES.has(code)) return failure('reset', true, sbError('SB_ERR_UPSTREAM_UNAVAILABLE', endpointKey, message), message);
  }
  return failure('protocol', false, sbError('SB_ERR_UPSTREAM_UNAVAILABLE', endpointKey, message), message);
}

/**
 * What the retry handler hands its request when it stops trying: the error the client is told
 * about, and for a response already under way, what broke it.
 */
export class UpstreamError extends Error {
  readonly code = 'SB_UPSTREAM_GAVE_UP';
  constructor(
    /** The coded error for the client. */
    readonly error: SwitchboardError,
    /** What went wrong, in a few words. */
    readonly detail: string,
    /** The pod of the last attempt; null when none was made. */
    readonly endpointKey: string | null,
    /** Keys of the pods that failed this request, in order. */
    readonly failed: readonly string[],
  ) {
    super(error.message);
  }
}
