/** Helpers for Kubernetes discovery tests against the fake API server. */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
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

/** Writes a kubeconfig at `path` whose one context reaches `server` (plain HTTP) with `user`'s bearer token; returns `path`. */
export function writeKubeconfig(path: string, server: string, user: { name: string; token: string } = { name: 'me', token: 'secret' }): string {
  writeFileSync(
    path,
    stringify({
      'current-context': 'fake',
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: user.name } }],
      clusters: [{ name: 'fake', cluster: { server } }],
      users: [{ name: user.name, user: { token: user.token } }],
    }),
  );
  return path;
}

/** Fast retry settings for tests. */
export const FAST = { backoff: { initialMs: 5, maxMs: 40 }, unavailableRetryMs: 30 } as const;
