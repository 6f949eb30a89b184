/**
 * Who may read the metrics port (`/metrics`, `/debug/*`). One contract, two implementations: a
 * static bearer token kept in a file (here) and the Kubernetes TokenReview + SubjectAccessReview
 * check the Go EPP does (`discovery/kubernetes/access-review-authenticator.ts`).
 */
import { timingSafeEqual } from 'node:crypto';

/**
 * Why a request was refused; each is a `reason` label of
 * `switchboard_metrics_endpoint_unauthorized_total`.
 * - `missing_token`, `invalid_token`: 401, no or a wrong bearer token;
 * - `forbidden`: 403, the token is valid but its user may not GET this path;
 * - `unavailable`: 503, the check itself could not be made (API server down, timed out, refused us).
 */
export type AuthDenyReason = 'missing_token' | 'invalid_token' | 'forbidden' | 'unavailable';

/** The outcome of one check. */
export type AuthDecision = { allowed: true } | { allowed: false; status: 401 | 403 | 503; reason: AuthDenyReason; message: string };

/** Checks the `Authorization` header of a GET of `path` on the metrics port. */
export interface MetricsAuthenticator {
  /** `static-token` or `kubernetes`, for logs. */
  readonly kind: string;
  authorize(authorization: string | undefined, path: string): AuthDecision | Promise<AuthDecision>;
}

/** The one allowed decision, shared. */
export const ALLOW: AuthDecision = Object.freeze({ allowed: true });

/** A refusal with the status its reason maps to. */
export function deny(reason: AuthDenyReason, message: string): AuthDecision {
  const status = reason === 'forbidden' ? 403 : reason === 'unavailable' ? 503 : 401;
  return { allowed: false, status, reason, message };
}

/** Longest accepted token, bytes: Kubernetes tokens are a few KiB; more is not a token. */
export const MAX_TOKEN_BYTES = 16 * 1024;

/** The token of `Authorization: Bearer <token>`, or a refusal saying what is wrong with the header. */
export function bearerToken(authorization: string | undefined): string | AuthDecision {
  if (authorization === undefined || authorization === '') return deny('missing_token', 'missing bearer token');
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (m === null) return deny('invalid_token', 'authorization is not a bearer token');
  if (m[1].length > MAX_TOKEN_BYTES) return deny('invalid_token', `bearer token longer than ${MAX_TOKEN_BYTES} bytes`);
  return m[1];
}

/**
 * `Authorization: Basic base64(user:token)` as `Bearer token` (any user name), for pages a browser
 * opens: it sends Basic credentials it prompted for, never a bearer token. Other values pass unchanged.
 */
export function basicAsBearer(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const m = /^basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(authorization);
  if (m === null || m[1].length > MAX_TOKEN_BYTES * 2) return authorization;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const token = colon < 0 ? '' : decoded.slice(colon + 1);
  // An empty or blank password is no token: it stays Basic and is refused as not a bearer token.
  return /^\S+$/.test(token) ? `Bearer ${token}` : authorization;
}

/**
 * The static-token check (`--metrics-token-file`): every path is allowed for the one token. `token`
 * is asked on every request (a rotated file); null or '' from it refuses everyone.
 */
export class StaticTokenAuthenticator implements MetricsAuthenticator {
  readonly kind = 'static-token';
  private readonly token: () => string | null;

  constructor(token: string | (() => string | null)) {
    this.token = typeof token === 'string' ? () => token : token;
  }

  authorize(authorization: string | undefined): AuthDecision {
    const got = bearerToken(authorization);
    if (typeof got !== 'string') return got;
    const t = this.token();
    if (t === null || t === '') return deny('invalid_token', 'no token is configured');
    const a = Buffer.from(got);
    const b = Buffer.from(t);
    // Compared in constant time so response timing does not reveal the token.
    return a.length === b.length && timingSafeEqual(a, b) ? ALLOW : deny('invalid_token', 'wrong bearer token');
  }
}
