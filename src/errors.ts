/**
 * Every error Switchboard raises, in one coded table.
 *
 * Request errors carry the HTTP status a front door answers with and the Go EPP's error
 * kind (`BadRequest`, `ResourceExhausted`, ...) so ext_proc bodies read
 * `inference error: <Kind> - <message>` exactly as the reference does. Startup errors
 * (config, flags) carry status 0: they stop the process instead of answering a request.
 */

/** Marks our errors; `Symbol.for` keeps the check working across two copies of the package. */
export const kSwitchboardError = Symbol.for('switchboard.error');

/** The Go EPP's error kinds, which select the ImmediateResponse status. */
export type ErrorKind =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'PayloadTooLarge'
  | 'ResourceExhausted'
  | 'Internal'
  | 'ServiceUnavailable'
  | 'BadGateway'
  | 'GatewayTimeout'
  | 'RequestTimeout'
  | 'BadConfiguration';

interface ErrorSpec {
  readonly status: number;
  readonly kind: ErrorKind;
  /** Message template; `%s` placeholders are filled in order by the factory's arguments. */
  readonly message: string;
}

/** The table. Keys are the codes; a test pins that each key equals its `.code` and the count. */
export const errorTable = {
  // --- request errors (answered to a client) ---
  SB_ERR_BAD_JSON: { status: 400, kind: 'BadRequest', message: 'error unmarshaling request body: %s' },
  SB_ERR_MODEL_MISSING: { status: 400, kind: 'BadRequest', message: 'model not found in request body' },
  SB_ERR_BAD_REQUEST_SHAPE: { status: 400, kind: 'BadRequest', message: 'invalid request: %s' },
  SB_ERR_BODY_TOO_LARGE: { status: 413, kind: 'PayloadTooLarge', message: 'request body exceeds %s bytes' },
  SB_ERR_NOT_FOUND: { status: 404, kind: 'NotFound', message: '%s' },
  SB_ERR_UNAUTHORIZED: { status: 401, kind: 'Unauthorized', message: '%s' },
  SB_ERR_GUARD_DENIED: { status: 403, kind: 'Forbidden', message: 'request denied by %s: %s' },
  SB_ERR_GUARD_UNAVAILABLE: { status: 503, kind: 'ServiceUnavailable', message: 'prompt screening by %s unavailable: %s' },
  SB_ERR_NO_CANDIDATES: {
    status: 503,
    kind: 'ServiceUnavailable',
    message: 'failed to find endpoint candidates for serving the request',
  },
  SB_ERR_DATASTORE_EMPTY: { status: 500, kind: 'Internal', message: 'no pods available in datastore' },
  SB_ERR_SCHEDULE_FAILED: { status: 429, kind: 'ResourceExhausted', message: 'failed to find target endpoint: %s' },
  SB_ERR_POOLS_SATURATED: { status: 429, kind: 'ResourceExhausted', message: 'every pool the %s policy may use is saturated' },
  SB_ERR_SHED: { status: 429, kind: 'ResourceExhausted', message: 'system saturated, sheddable request dropped' },
  SB_ERR_QUEUE_FULL: { status: 429, kind: 'ResourceExhausted', message: 'flow control queue full: %s' },
  SB_ERR_QUEUE_TTL: { status: 503, kind: 'ServiceUnavailable', message: 'request timed out in queue' },
  SB_ERR_CLIENT_GONE: { status: 503, kind: 'ServiceUnavailable', message: 'client disconnected while queued' },
  SB_ERR_RATE_LIMITED: { status: 429, kind: 'ResourceExhausted', message: 'token budget exceeded for flow %s' },
  SB_ERR_SHUTTING_DOWN: { status: 503, kind: 'ServiceUnavailable', message: 'switchboard is shutting down' },
  SB_ERR_REQUEST_TIMEOUT: { status: 408, kind: 'RequestTimeout', message: 'request not received in time: %s' },
  SB_ERR_OVERLOADED: { status: 503, kind: 'ServiceUnavailable', message: 'switchboard overloaded: %s' },
  SB_ERR_UPSTREAM_UNAVAILABLE: { status: 502, kind: 'BadGateway', message: 'upstream %s failed: %s' },
  SB_ERR_UPSTREAM_TIMEOUT: { status: 504, kind: 'GatewayTimeout', message: 'upstream %s timed out: %s' },
  SB_ERR_UPSTREAM_CONNECT: { status: 503, kind: 'ServiceUnavailable', message: 'no connection to upstream %s: %s' },
  SB_ERR_UPSTREAM_BROKEN: { status: 502, kind: 'BadGateway', message: 'upstream %s broke off the response: %s' },
  SB_ERR_INTERNAL: { status: 500, kind: 'Internal', message: 'internal error: %s' },
  // --- startup errors (stop the process) ---
  SB_ERR_CONFIG: { status: 0, kind: 'BadConfiguration', message: 'invalid config: %s: %s' },
  SB_ERR_FLAG: { status: 0, kind: 'BadConfiguration', message: 'invalid flag --%s: %s' },
  SB_ERR_ADDRESS_IN_USE: { status: 0, kind: 'BadConfiguration', message: 'address %s in use: change --%s' },
  SB_ERR_UNKNOWN_PLUGIN: { status: 0, kind: 'BadConfiguration', message: 'unknown plugin type "%s" (%s)' },
  SB_ERR_KUBE_CONFIG: { status: 0, kind: 'BadConfiguration', message: 'kubernetes connection: %s' },
  // --- background errors (logged and retried; never answered to a client) ---
  SB_ERR_KUBE_API: { status: 0, kind: 'ServiceUnavailable', message: 'kubernetes API %s %s: %s' },
} as const satisfies Record<string, ErrorSpec>;

/** A code from the table. */
export type ErrorCode = keyof typeof errorTable;

/** The one error class; `code` says which condition it is. */
export class SwitchboardError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly kind: ErrorKind;
  /**
   * Seconds after which a retry may succeed (token budgets), or null. Front doors answer it as a
   * `retry-after` header.
   */
  retryAfterSeconds: number | null = null;
  readonly [kSwitchboardError] = true;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    const spec: ErrorSpec = errorTable[code];
    this.name = 'SwitchboardError';
    this.code = code;
    this.status = spec.status;
    this.kind = spec.kind;
  }
}

/** Creates the error for `code`, filling the template's `%s` placeholders with `args`. */
export function sbError(code: ErrorCode, ...args: Array<string | number>): SwitchboardError {
  let i = 0;
  const message = errorTable[code].message.replace(/%s/g, () => (i < args.length ? String(args[i++]) : ''));
  return new SwitchboardError(code, message);
}

/** True for errors made by `sbError`, even from another copy of the package. */
export function isSwitchboardError(err: unknown): err is SwitchboardError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[kSwitchboardError] === true;
}

/** Turns anything thrown into a request error: ours pass through, others become SB_ERR_INTERNAL. */
export function asRequestError(err: unknown): SwitchboardError {
  if (isSwitchboardError(err)) return err;
  return sbError('SB_ERR_INTERNAL', err instanceof Error ? err.message : String(err));
}

/** The body text the Go EPP puts in an ImmediateResponse: `inference error: <Kind> - <message>`. */
export function inferenceErrorText(err: SwitchboardError): string {
  return `inference error: ${err.kind} - ${err.message}`;
}
