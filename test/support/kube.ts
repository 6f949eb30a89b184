/** Helpers for Kubernetes discovery tests against the fake API server. */
import type { KubeConnection } from '../../src/discovery/kubernetes/connection.js';
import type { ReflectorHooks } from '../../src/discovery/kubernetes/reflector.js';

/** A plain-HTTP connection to `url` with a fixed bearer token. */
export function testConnection(url: string, token = 'test-token'): KubeConnection & { invalidations: number } {
  const conn = {
    server: url,
    ca: null,
    cert: null,
    key: null,
    insecureSkipTlsVerify: false,
    tlsServerName: null,
    authorization: async () => `Bearer ${token}`,
    invalidate: () => {
      conn.invalidations++;
    },
    namespace: 'default',
    source: 'test',
    invalidations: 0,
  };
  return conn;
}

/** Hooks that record counts and malformed reports. */
export function recordingHooks(): ReflectorHooks & { counts: Map<string, number>; malformedSeen: string[] } {
  const counts = new Map<string, number>();
  const malformedSeen: string[] = [];
  return {
    counts,
    malformedSeen,
    count(resource, what) {
      const k = `${resource}:${what}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    },
    malformed(resource, detail) {
      malformedSeen.push(`${resource}: ${detail}`);
    },
  };
}

/** Fast retry settings for tests. */
export const FAST = { backoff: { initialMs: 5, maxMs: 40 }, unavailableRetryMs: 30 } as const;
