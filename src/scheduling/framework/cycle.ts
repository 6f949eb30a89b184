/**
 * One scheduling cycle: the request as plugins see it, the pool snapshot time, and per-cycle
 * plugin data (for example the prefix hashes the prefix scorer computed and the index update
 * reuses after the pick).
 */
import type { HeaderSource } from '../../request/headers.js';
import type { EndpointPool } from '../../pool/pool.js';
import type { ExplainRecorder } from './explain-recorder.js';

/** Cycle data key under which the prefix scorer publishes its matches. */
export const PREFIX_MATCH = 'prefix-match';

/** Prefix matches of the current cycle, published by the prefix scorer for other plugins. */
export interface PrefixMatch {
  /** Fraction (0..1) of the request's prompt blocks that `slot` holds. */
  fraction(slot: number): number;
}

/** What scheduling plugins may read about a request. */
export interface SchedulingRequest {
  requestId: string;
  /** Model sent upstream (after rewrites): LoRA affinity and prefix hashing key on it. */
  targetModel: string;
  /** Raw request body, or null for header-only requests. */
  body: Buffer | null;
  /** Byte range of the prompt-bearing value inside `body`. */
  promptStart: number;
  promptEnd: number;
  /** Isolates prefix-cache entries between tenants (vLLM `cache_salt`). */
  cacheSalt: string;
  /** Estimated prompt tokens. */
  inputTokens: number;
  /** Estimated output tokens. */
  outputTokens: number;
  /** Request headers, or null. */
  headers: HeaderSource | null;
  /** Priority from the request's objective (0 when none). */
  priority: number;
}

/** State of one scheduling cycle. */
export class CycleState {
  private data: Map<string, unknown> | null = null;

  constructor(
    readonly request: SchedulingRequest,
    readonly pool: EndpointPool,
    /** Clock time of the cycle (ms). */
    readonly now: number,
    readonly rng: () => number,
    /** Records the explanation when one was asked for; null otherwise. */
    readonly explain: ExplainRecorder | null,
  ) {}

  /** Per-cycle data a plugin stored under `key`. */
  get<T>(key: string): T | undefined {
    return this.data?.get(key) as T | undefined;
  }

  /** Stores per-cycle data for later plugin calls in the same cycle. */
  set(key: string, value: unknown): void {
    (this.data ??= new Map()).set(key, value);
  }
}
