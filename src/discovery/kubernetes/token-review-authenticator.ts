/**
 * The metrics-port check the Go EPP makes with `--metrics-endpoint-auth` (controller-runtime's
 * `filters.WithAuthenticationAndAuthorization`): the bearer token is checked with a TokenReview
 * (authentication.k8s.io/v1), then its user is authorized with a SubjectAccessReview
 * (authorization.k8s.io/v1) for the non-resource URL being read, verb `get` (`/metrics`,
 * `/debug/endpoints`, ...). Requests go through the API client discovery uses (same service
 * account token and CA); the service account needs `create` on tokenreviews and
 * subjectaccessreviews (the `system:auth-delegator` ClusterRole has both).
 *
 * Decisions are cached briefly so a scrape every 15 s does not reach the API server each time:
 * allowed for 10 s, refused (401/403) for 2 s, in a bounded LRU keyed by a hash of the token and
 * the path. Concurrent checks of the same key share one review. A review that cannot be made
 * (API server unreachable, timed out, or refusing our own service account) fails closed with 503
 * and is not cached.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ALLOW, bearerToken, deny, type AuthDecision, type MetricsAuthenticator } from '../../telemetry/metrics-auth.js';
import type { KubeClient } from './client.js';

const TOKEN_REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';
const ACCESS_REVIEWS = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

/** Options of the Kubernetes check; times in ms. */
export interface TokenReviewOptions {
  client: KubeClient;
  /** Deadline of the two reviews together (default 5 s). */
  timeoutMs?: number;
  /** How long an allowed decision is reused (default 10 s). */
  allowTtlMs?: number;
  /** How long a 401/403 decision is reused (default 2 s). */
  denyTtlMs?: number;
  /** Cached decisions at most (default 1024). */
  maxEntries?: number;
  /** Told why a review could not be made (for a log line). */
  onUnavailable?: (message: string) => void;
  /** Clock of the cache (tests). */
  now?: () => number;
}

interface UserInfo {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export class TokenReviewAuthenticator implements MetricsAuthenticator {
  readonly kind = 'kubernetes';
  private readonly cache: LRUCache<string, AuthDecision>;
  private readonly inflight = new Map<string, Promise<AuthDecision>>();
  private readonly timeoutMs: number;
  private readonly allowTtlMs: number;
  private readonly denyTtlMs: number;

  constructor(private readonly opts: TokenReviewOptions) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.allowTtlMs = opts.allowTtlMs ?? 10_000;
    this.denyTtlMs = opts.denyTtlMs ?? 2000;
    const now = opts.now;
    this.cache = new LRUCache<string, AuthDecision>({
      max: opts.maxEntries ?? 1024,
      ttl: this.allowTtlMs,
      ...(now !== undefined ? { perf: { now } } : {}),
    });
  }

  authorize(authorization: string | undefined, path: string): AuthDecision | Promise<AuthDecision> {
    const token = bearerToken(authorization);
    if (typeof token !== 'string') return token;
    // The raw token is never kept: the key is its hash.
    const key = `${createHash('sha256').update(token).digest('base64')} ${path}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let p = this.inflight.get(key);
    if (p === undefined) {
      p = this.review(token, path)
        .then((d) => {
          if (d.allowed) this.cache.set(key, d, { ttl: this.allowTtlMs });
          else if (d.reason !== 'unavailable') this.cache.set(key, d, { ttl: this.denyTtlMs });
          return d;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async review(token: string, path: string): Promise<AuthDecision> {
    const deadline = Date.now() + this.timeoutMs;
    const remaining = () => Math.max(1, deadline - Date.now());
    try {
      const tr = await this.opts.client.send(
        'POST',
        TOKEN_REVIEWS,
        undefined,
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
        { timeoutMs: remaining() },
      );
      if (tr.status !== 200 && tr.status !== 201) return this.unavailable(`TokenReview answered ${tr.status}${statusMessage(tr.body)}`);
      const user = authenticatedUser(tr.body);
      if (user === null) return deny('invalid_token', 'token not authenticated');
      const sar = await this.opts.client.send(
        'POST',
        ACCESS_REVIEWS,
        undefined,
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            ...(user.uid !== undefined ? { uid: user.uid } : {}),
            ...(user.groups !== undefined ? { groups: user.groups } : {}),
            ...(user.extra !== undefined ? { extra: user.extra } : {}),
            nonResourceAttributes: { path, verb: 'get' },
          },
        },
        { timeoutMs: remaining() },
      );
      if (sar.status !== 200 && sar.status !== 201) return this.unavailable(`SubjectAccessReview answered ${sar.status}${statusMessage(sar.body)}`);
      const allowed = (sar.body as { status?: { allowed?: unknown } } | null)?.status?.allowed === true;
      return allowed ? ALLOW : deny('forbidden', `user "${user.username}" may not get ${path}`);
    } catch (err) {
      return this.unavailable((err as Error).message);
    }
  }

  private unavailable(message: string): AuthDecision {
    this.opts.onUnavailable?.(message);
    return deny('unavailable', 'cannot check the token with the Kubernetes API');
  }
}

/** The user of an authenticated TokenReview, or null. Anything malformed counts as not authenticated. */
function authenticatedUser(body: unknown): UserInfo | null {
  const status = (body as { status?: { authenticated?: unknown; user?: unknown } } | null)?.status;
  if (status?.authenticated !== true) return null;
  const u = status.user as Record<string, unknown> | undefined;
  if (u === undefined || u === null || typeof u.username !== 'string' || u.username === '') return null;
  const out: UserInfo = { username: u.username };
  if (typeof u.uid === 'string' && u.uid !== '') out.uid = u.uid;
  if (Array.isArray(u.groups)) out.groups = u.groups.filter((g): g is string => typeof g === 'string');
  if (typeof u.extra === 'object' && u.extra !== null && !Array.isArray(u.extra)) {
    const extra: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(u.extra)) if (Array.isArray(v)) extra[k] = v.filter((x): x is string => typeof x === 'string');
    out.extra = extra;
  }
  return out;
}

function statusMessage(body: unknown): string {
  const m = (body as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? `: ${m.slice(0, 200)}` : '';
}
