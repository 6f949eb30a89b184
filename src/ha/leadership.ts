/**
 * Leadership as the health server reads it. Without HA every replica leads; with active-passive
 * HA (`--ha-enable-leader-election`) only the Lease holder does, and readiness (the `readiness`,
 * `""` and `envoy.service.ext_proc.v3.ExternalProcessor` health services) is SERVING only there,
 * as in the Go EPP. Liveness never depends on it.
 */

/** Whether this replica leads, and changes of that. */
export interface Leadership {
  isLeader(): boolean;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (leader: boolean) => void): () => void;
}

/** The leadership of a replica that runs alone or active-active: always the leader. */
export const ALWAYS_LEADER: Leadership = Object.freeze({
  isLeader: () => true,
  subscribe: () => () => {},
});

/** Readiness in the shape the health server reads (`ready()`): synced and leading. */
export function readiness(pool: { readonly synced: boolean }, leadership: Leadership): { ready(): boolean } {
  return { ready: () => pool.synced && leadership.isLeader() };
}
