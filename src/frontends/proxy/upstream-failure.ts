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
}

/** Errors where the request never reached a model server. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
/** The connection broke before a response: the pod crashed, restarted or closed a stale keep-alive. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

/** Classifies `err`, raised by an attempt on the pod `endpointKey`. */
export function classifyUpstreamError(err: unknown, endpointKey: string): UpstreamFailure {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string') {
    if (CONNECT_CODES.has(code)) {
      return { reason: 'connect', retryable: true, error: sbError('SB_ERR_UPSTREAM_CONNECT', endpointKey, code) };
    }
    if (code === 'UND_ERR_CONNECT_TIMEOUT') {
      return { reason: 'connect_timeout', retryable: true, error: sbError('SB_ERR_UPSTREAM_TIMEOUT', endpointKey, 'connect timeout') };
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      return {
        reason: 'first_byte_timeout',
        retryable: true,
        error: sbError('SB_ERR_UPSTREAM_TIMEOUT', endpointKey, 'no response headers in time'),
      };
    }
    if (code === 'UND_ERR_BODY_TIMEOUT') {
      return { reason: 'idle_timeout', retryable: false, error: sbError('SB_ERR_UPSTREAM_TIMEOUT', endpointKey, 'response body stalled') };
    }
    if (RESET_CODES.has(code)) {
      return { reason: 'reset', retryable: true, error: sbError('SB_ERR_UPSTREAM_UNAVAILABLE', endpointKey, message) };
    }
  }
  return { reason: 'protocol', retryable: false, error: sbError('SB_ERR_UPSTREAM_UNAVAILABLE', endpointKey, message) };
}
