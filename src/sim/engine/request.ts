/**
 * One request inside the engine model: its tokens, progress, KV blocks and timestamps.
 */
import { mix32 } from '../../util/random.js';
import { synthTokenIds } from '../../workload/tokenizer.js';

/** Lifecycle states of a request. */
export const RequestState = {
  /** Submitted; in the API-server overhead delay. */
  Arriving: 0,
  Waiting: 1,
  Running: 2,
  Finished: 3,
  Failed: 4,
  Aborted: 5,
} as const;
export type RequestState = (typeof RequestState)[keyof typeof RequestState];

/** Receives a request's progress; one object can serve many requests. */
export interface RequestSink {
  /** A new output token was produced (`req.output` is the new count). */
  onToken(req: SimRequest, now: number): void;
  /** The request produced all its tokens. */
  onFinish(req: SimRequest, now: number): void;
  /** The engine gave up on the request. */
  onFail(req: SimRequest, reason: string, now: number): void;
}

/** What a caller provides to create a request. */
export interface SimRequestInit {
  id: string;
  /** Prompt token ids (see `tokenize`). */
  prompt: Int32Array;
  /** Exact number of output tokens to produce (the simulator behaves as with `ignore_eos`). */
  maxTokens: number;
  /** Seed of the synthetic output text (`synthText(outputSeed, maxTokens)`). */
  outputSeed: number;
  /** LoRA adapter name, or null for the base model. */
  lora: string | null;
  sink: RequestSink;
  /** Caller's own data (the scorecard keeps its record here). */
  user?: unknown;
}

export class SimRequest {
  readonly id: string;
  /** Prompt token ids followed by the output token ids. */
  readonly tokens: Int32Array;
  readonly promptLen: number;
  readonly maxTokens: number;
  readonly outputSeed: number;
  readonly lora: string | null;
  readonly sink: RequestSink;
  readonly user: unknown;

  state: RequestState = RequestState.Arriving as RequestState;
  /** Output tokens produced so far. */
  output = 0;
  /** Tokens whose KV is computed (or taken from the prefix cache). */
  computed = 0;
  /** KV blocks held, in token order. */
  blocks: number[] = [];
  /** Leading blocks whose hashes are registered in the prefix cache. */
  hashed = 0;
  /** Tokens scheduled in the current step. */
  scheduled = 0;
  /** Prompt tokens served from the prefix cache at first admission; -1 before it. */
  cachedTokens = -1;
  /** Times this request was preempted. */
  preemptions = 0;
  /** Time its adapter loads into a GPU slot took when it was scheduled, ms (0: already resident; summed over preemptions). */
  adapterLoadMs = 0;
  /** Chain hashes of full blocks of `tokens`, computed on first admission. */
  hashes: Float64Array | null = null;

  submittedAt = NaN;
  queuedAt = NaN;
  firstScheduledAt = NaN;
  firstTokenAt = NaN;
  lastTokenAt = NaN;
  finishedAt = NaN;

  constructor(init: SimRequestInit) {
    this.id = init.id;
    this.promptLen = init.prompt.length;
    this.maxTokens = init.maxTokens;
    this.outputSeed = init.outputSeed;
    this.lora = init.lora;
    this.sink = init.sink;
    this.user = init.user ?? null;
    this.tokens = new Int32Array(this.promptLen + Math.max(0, init.maxTokens));
    this.tokens.set(init.prompt, 0);
    synthTokenIds(init.outputSeed, Math.max(0, init.maxTokens), this.tokens, this.promptLen);
  }

  /** Tokens the engine knows (prompt plus output so far). */
  get known(): number {
    return this.promptLen + this.output;
  }

  /** Whether the request is done (finished, failed or aborted). */
  get done(): boolean {
    return this.state >= RequestState.Finished;
  }

  /** Computes the chain hashes of full blocks; the first block is salted with the adapter. */
  computeHashes(blockSize: number): Float64Array {
    if (this.hashes !== null) return this.hashes;
    const n = Math.floor(this.tokens.length / blockSize);
    const out = new Float64Array(n);
    const salt = this.lora === null ? 0 : hashName(this.lora);
    let h1 = 0x811c9dc5 ^ salt;
    let h2 = 0x9747b28c ^ mix32(salt);
    const t = this.tokens;
    for (let b = 0; b < n; b++) {
      const base = b * blockSize;
      for (let i = 0; i < blockSize; i++) {
        const v = t[base + i];
        h1 = Math.imul(h1 ^ v, 0x01000193);
        h2 = Math.imul(h2 ^ v, 0x5bd1e995);
        h2 ^= h2 >>> 15;
      }
      h1 = mix32(h1);
      h2 = mix32(h2 ^ h1);
      // 53 usable bits: 21 from h1, 32 from h2.
      out[b] = (h1 & 0x1fffff) * 4294967296 + h2;
    }
    this.hashes = out;
    return out;
  }
}

function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
