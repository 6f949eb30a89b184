/**
 * Discovery: where endpoints (and, on Kubernetes, objectives and model rewrites) come from.
 * Every source feeds the same core objects: `EndpointPool.setEndpoints` (which keeps the slots
 * and in-flight counts of endpoints that stay, so a refresh never disturbs running requests) and
 * `markSynced()` once its first complete view is in, which readiness waits for.
 */
import type { ModelRewriter, ObjectiveStore } from '../admission/objectives.js';
import type { EndpointPool } from '../pool/pool.js';

/** A running endpoint source. */
export interface Discovery {
  /** `static`, `file`, `kubernetes` or `kubernetes-selector`, for logs. */
  readonly kind: string;
  /** Starts feeding the pool. Resolves once started, not once synced (see `pool.synced`). */
  start(): Promise<void>;
  /** Stops watching; the pool keeps its last view. */
  close(): Promise<void>;
}

/** The core objects discovery writes to. */
export interface DiscoveryTarget {
  pool: EndpointPool;
  objectives: ObjectiveStore;
  rewriter: ModelRewriter;
}

/** The log calls discovery makes (pino's shape). */
export interface DiscoveryLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
