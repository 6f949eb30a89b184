/**
 * One scheduling cycle: the request as plugins see it, the pool snapshot time, and per-cycle
 * plugin data shared through typed keys (for example the prefix matches the prefix scorer
 * computes and the prefill-work scorer reads).
 */
import type { HeaderSource } from '../../request/headers.js';
import type { EndpointPool } from '../../pool/pool.js';
import type { ExplainRecorder } from './explain-recorder.js';

/**
 * A typed handle for data one plugin publishes in a cycle and others read: the key carries the
 * value's type, so readers need no casts and a misspelt string cannot silently miss.
 */
export class CycleKey<T> {
  private static next = 0;
  /** Dense index into the cycle's data array. */
  readonly id: number;
  /** Phantom field carrying `T` (never set). */
  declare readonly __type?: T;

  constructor(readonly name: string) {
    this.id = CycleKey.next++;
  }
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
  /** The prompt's token ids when a plugin asked for them (precise prefix matching), else null. */
  tokenIds?: Int32Array | null;
}

/** State of one scheduling cycle. */
export class CycleState {
  private data: unknown[] | null = null;

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
  get<T>(key: CycleKey<T>): T | undefined {
    return this.data?.[key.id] as T | undefined;
  }

  /** Stores per-cycle data for later plugin calls in the same cycle. */
  set<T>(key: CycleKey<T>, value: T): void {
    (this.data ??= [])[key.id] = value;
  }
}
