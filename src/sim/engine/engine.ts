/**
 * The engine model of one vLLM pod: step-level continuous batching with chunked prefill, a paged
 * KV cache with prefix caching, recompute preemption and LoRA slots, following vLLM V1's
 * scheduler (`vllm/v1/core/sched/scheduler.py`):
 *
 * 1. Running requests, oldest first, get their next tokens (a prefill chunk or one decode token)
 *    within the step's token budget. When KV blocks run out, the newest running request is
 *    preempted: its blocks are freed, its progress reset, and it returns to the waiting head.
 * 2. If nothing was preempted, waiting requests are admitted in order while the budget,
 *    `max_num_seqs` and KV blocks allow. Each first takes whatever prefix it finds cached. A
 *    request whose adapter cannot get a LoRA slot is skipped and keeps its place.
 * 3. The step lasts c0 + cPrefill·prefill tokens + cDecode·decode seqs + cKv·context tokens
 *    (+ LoRA loads). At its end every request whose known tokens are all computed emits a token.
 *
 * Time comes from a `SimScheduler`, so the same code runs in wall-clock or virtual time.
 */
import { BlockPool } from './block-pool.js';
import { Deque } from './deque.js';
import { E2E_BUCKETS, Histogram, ITL_BUCKETS, TTFT_BUCKETS } from './histogram.js';
import { LoraSlots } from './lora-slots.js';
import type { EngineProfile } from './profile.js';
import { RequestState, SimRequest } from './request.js';
import type { SimScheduler, TimerHandle } from './scheduler.js';

/** Monotonic counters, as vLLM exposes them. */
export interface EngineCounters {
  /** Prompt tokens looked up in the prefix cache (`vllm:prefix_cache_queries`). */
  prefixQueries: number;
  /** Of those, tokens found (`vllm:prefix_cache_hits`). */
  prefixHits: number;
  /** Preemptions (`vllm:num_preemptions`). */
  preemptions: number;
  /** Prompt tokens of admitted requests (`vllm:prompt_tokens`). */
  promptTokens: number;
  /** Output tokens produced (`vllm:generation_tokens`). */
  generationTokens: number;
  /** Requests that produced all their tokens. */
  finished: number;
  /** Requests the engine failed or that were aborted. */
  failed: number;
  /** Engine steps run. */
  steps: number;
  /** Time spent in steps, ms. */
  busyMs: number;
  /** Uncached prefill tokens computed (recompute after preemption included). */
  prefillTokens: number;
}

/** Gauges and settings a vLLM /metrics page reports. */
export interface EngineState {
  waiting: number;
  running: number;
  /** Referenced KV blocks / total blocks. */
  kvUsage: number;
  /** Adapters with running requests. */
  runningAdapters: string[];
  /** Adapters with waiting requests. */
  waitingAdapters: string[];
  maxLoras: number;
  blockSize: number;
  numGpuBlocks: number;
}

export class Engine {
  readonly profile: EngineProfile;
  readonly pool: BlockPool;
  readonly loras: LoraSlots;
  readonly waiting = new Deque<SimRequest>();
  readonly running: SimRequest[] = [];
  readonly counters: EngineCounters = {
    prefixQueries: 0,
    prefixHits: 0,
    preemptions: 0,
    promptTokens: 0,
    generationTokens: 0,
    finished: 0,
    failed: 0,
    steps: 0,
    busyMs: 0,
    prefillTokens: 0,
  };
  readonly ttft = new Histogram(TTFT_BUCKETS);
  readonly itl = new Histogram(ITL_BUCKETS);
  readonly e2e = new Histogram(E2E_BUCKETS);

  private readonly scheduler: SimScheduler;
  private readonly batch: SimRequest[] = [];
  private readonly skipped: SimRequest[] = [];
  private readonly hitScratch: number[] = [];
  private timer: TimerHandle | null = null;
  private readonly endStepFn = (): void => this.endStep();
  private readonly startStepFn = (): void => {
    this.timer = null;
    this.startStep();
  };

  /** Whether TTFT/ITL/E2E histograms are recorded (pods need them; the scorecard does not). */
  private readonly histograms: boolean;

  constructor(profile: EngineProfile, scheduler: SimScheduler, opts: { histograms?: boolean } = {}) {
    this.profile = profile;
    this.scheduler = scheduler;
    this.histograms = opts.histograms ?? true;
    this.pool = new BlockPool(profile.numGpuBlocks);
    this.loras = new LoraSlots(profile.maxLoras, profile.maxCpuLoras, profile.loraLoadMs, profile.loraColdLoadMs);
  }

  /** Longest prompt + output a request may ask for. */
  get maxRequestTokens(): number {
    return Math.min(this.profile.maxModelLen, this.profile.numGpuBlocks * this.profile.blockSize);
  }

  /**
   * Checks a request the way vLLM's API server does; returns an error message or null.
   * Callers answer the message with HTTP 400 (404 for an unknown adapter).
   */
  validate(promptLen: number, maxTokens: number, lora: string | null): string | null {
    if (promptLen < 1) return 'Either prompt or prompt_embeds must be provided and non-empty.';
    if (!Number.isInteger(maxTokens) || maxTokens < 1) return 'max_tokens must be at least 1, got ' + maxTokens + '.';
    const limit = this.maxRequestTokens;
    if (promptLen + maxTokens > limit) {
      return (
        `This model's maximum context length is ${limit} tokens. However, you requested ` +
        `${promptLen + maxTokens} tokens (${promptLen} in the messages, ${maxTokens} in the completion). ` +
        'Please reduce the length of the messages or completion.'
      );
    }
    if (lora !== null && !this.loras.registered.has(lora)) return `The model \`${lora}\` does not exist.`;
    return null;
  }

  /** Accepts a validated request; it reaches the waiting queue after the API overhead. */
  submit(req: SimRequest): void {
    const err = this.validate(req.promptLen, req.maxTokens, req.lora);
    const now = this.scheduler.now();
    req.submittedAt = now;
    if (err !== null) {
      this.fail(req, err, now);
      return;
    }
    const p = this.profile;
    const delay = (p.apiOverheadUs + p.apiOverheadPerTokenUs * req.promptLen) / 1000;
    if (delay <= 0) this.enqueue(req);
    else this.scheduler.at(now + delay, () => this.enqueue(req));
  }

  /** Stops a request (client went away); frees its blocks. */
  abort(req: SimRequest): void {
    if (req.done) return;
    const prev = req.state;
    req.state = RequestState.Aborted;
    this.counters.failed++;
    if (prev === RequestState.Waiting) {
      this.waiting.remove(req);
      if (req.lora !== null) LoraSlots.bump(this.loras.waitingCount, req.lora, -1);
    } else if (prev === RequestState.Running) {
      const i = this.running.indexOf(req);
      if (i >= 0) this.running.splice(i, 1);
      this.releaseBlocks(req);
      if (req.lora !== null) LoraSlots.bump(this.loras.runningCount, req.lora, -1);
    }
    req.finishedAt = this.scheduler.now();
  }

  /** Current gauges. */
  state(): EngineState {
    return {
      waiting: this.waiting.length,
      running: this.running.length,
      kvUsage: this.pool.usage(),
      runningAdapters: [...this.loras.runningCount.keys()],
      waitingAdapters: [...this.loras.waitingCount.keys()],
      maxLoras: this.profile.maxLoras,
      blockSize: this.profile.blockSize,
      numGpuBlocks: this.profile.numGpuBlocks,
    };
  }

  /** Whether the engine has no queued or running work. */
  get idle(): boolean {
    return this.running.length === 0 && this.waiting.length === 0;
  }

  /** Cancels the pending step (shutdown); requests in flight stay where they are. */
  stop(): void {
    if (this.timer !== null) this.scheduler.cancel(this.timer);
    this.timer = null;
  }

  private enqueue(req: SimRequest): void {
    if (req.done) return;
    req.state = RequestState.Waiting;
    req.queuedAt = this.scheduler.now();
    this.waiting.push(req);
    if (req.lora !== null) LoraSlots.bump(this.loras.waitingCount, req.lora, 1);
    if (this.timer === null) this.timer = this.scheduler.at(req.queuedAt, this.startStepFn);
  }

  private startStep(): void {
    const now = this.scheduler.now();
    const p = this.profile;
    const bs = p.blockSize;
    const batch = this.batch;
    let budget = p.maxNumBatchedTokens;
    let prefill = 0;
    let decode = 0;
    let context = 0;
    let loadMs = 0;
    let preempted = false;

    // 1. Running requests, oldest first.
    const running = this.running;
    let i = 0;
    while (i < running.length && budget > 0) {
      const r = running[i];
      const need = r.known - r.computed;
      const n = need < budget ? need : budget;
      let fits = this.growBlocks(r, n, bs);
      while (!fits) {
        const victim = running.pop() as SimRequest;
        this.preempt(victim, now);
        preempted = true;
        if (victim === r) break;
        fits = this.growBlocks(r, n, bs);
      }
      if (!fits) break;
      r.scheduled = n;
      budget -= n;
      batch.push(r);
      i++;
    }

    // 2. Waiting requests, unless this step had to preempt.
    if (!preempted) {
      const waiting = this.waiting;
      const loras = this.loras;
      while (waiting.length > 0 && budget > 0 && running.length < p.maxNumSeqs) {
        const r = waiting.at(0);
        if (r.lora !== null && !loras.canRun(r.lora)) {
          this.skipped.push(waiting.shift() as SimRequest);
          continue;
        }
        if (!this.admit(r, budget, bs)) break;
        waiting.shift();
        if (r.lora !== null) {
          LoraSlots.bump(loras.waitingCount, r.lora, -1);
          LoraSlots.bump(loras.runningCount, r.lora, 1);
          loadMs += loras.activate(r.lora);
        }
        r.state = RequestState.Running;
        if (Number.isNaN(r.firstScheduledAt)) r.firstScheduledAt = now;
        running.push(r);
        budget -= r.scheduled;
        batch.push(r);
      }
      for (let k = this.skipped.length - 1; k >= 0; k--) waiting.unshift(this.skipped[k]);
      this.skipped.length = 0;
    }

    if (batch.length === 0) {
      if (preempted || !this.idle) {
        // Everything runnable was preempted, or the queue head can never run: retry or fail it.
        if (!preempted && running.length === 0) this.failHead(now);
        if (!this.idle) this.timer = this.scheduler.at(now, this.startStepFn);
      }
      return;
    }

    for (let k = 0; k < batch.length; k++) {
      const r = batch[k];
      if (r.output > 0 && r.scheduled === 1 && r.computed === r.known - 1) decode++;
      else prefill += r.scheduled;
      context += r.computed + r.scheduled;
    }
    const ms = (p.c0Us + p.cPrefillUs * prefill + p.cDecodeUs * decode + p.cKvUs * context) / 1000 + loadMs;
    this.counters.steps++;
    this.counters.busyMs += ms;
    this.counters.prefillTokens += prefill;
    this.timer = this.scheduler.at(now + ms, this.endStepFn);
  }

  private endStep(): void {
    this.timer = null;
    const now = this.scheduler.now();
    const batch = this.batch;
    const bs = this.profile.blockSize;
    const caching = this.profile.enablePrefixCaching;
    let finishedAny = false;
    let produced = 0;
    for (let k = 0; k < batch.length; k++) {
      const r = batch[k];
      if (r.state !== RequestState.Running) continue;
      const computed = (r.computed += r.scheduled);
      r.scheduled = 0;
      if (caching && computed >= (r.hashed + 1) * bs) this.registerBlocks(r, bs);
      if (computed !== r.promptLen + r.output) continue;
      r.output++;
      produced++;
      if (r.output === 1) {
        r.firstTokenAt = now;
        if (this.histograms) this.ttft.observe((now - r.submittedAt) / 1000);
      } else if (this.histograms) {
        this.itl.observe((now - r.lastTokenAt) / 1000);
      }
      r.lastTokenAt = now;
      r.sink.onToken(r, now);
      if (r.output >= r.maxTokens && r.state === RequestState.Running) {
        r.state = RequestState.Finished;
        r.finishedAt = now;
        this.releaseBlocks(r);
        if (r.lora !== null) LoraSlots.bump(this.loras.runningCount, r.lora, -1);
        this.counters.finished++;
        if (this.histograms) this.e2e.observe((now - r.submittedAt) / 1000);
        finishedAny = true;
        r.sink.onFinish(r, now);
      }
    }
    batch.length = 0;
    this.counters.generationTokens += produced;
    if (finishedAny) {
      const running = this.running;
      let w = 0;
      for (let k = 0; k < running.length; k++) if (running[k].state === RequestState.Running) running[w++] = running[k];
      running.length = w;
    }
    if (!this.idle && this.timer === null) this.startStep();
  }

  /** Makes room for `n` more tokens of a running request; false when blocks ran out. */
  private growBlocks(r: SimRequest, n: number, bs: number): boolean {
    const need = Math.ceil((r.computed + n) / bs) - r.blocks.length;
    return need <= 0 || this.pool.allocate(need, r.blocks);
  }

  /** Takes a waiting request's prefix hits and blocks for its first chunk; false if KV is short. */
  private admit(r: SimRequest, budget: number, bs: number): boolean {
    const pool = this.pool;
    const hits = this.hitScratch;
    hits.length = 0;
    if (r.computed === 0 && this.profile.enablePrefixCaching) {
      const hashes = r.computeHashes(bs);
      const maxHit = Math.min(hashes.length, Math.floor((r.known - 1) / bs));
      for (let b = 0; b < maxHit; b++) {
        const blk = pool.lookup(hashes[b]);
        if (blk < 0) break;
        hits.push(blk);
      }
    }
    const computed = hits.length * bs;
    const need = r.known - computed;
    const n = need < budget ? need : budget;
    const fresh = Math.ceil((computed + n) / bs) - hits.length;
    let reclaimed = 0;
    for (let k = 0; k < hits.length; k++) if (pool.isFree(hits[k])) reclaimed++;
    if (fresh + reclaimed > pool.freeCount) return false;
    for (let k = 0; k < hits.length; k++) pool.touch(hits[k]);
    r.blocks = hits.slice();
    r.hashed = hits.length;
    r.computed = computed;
    pool.allocate(fresh, r.blocks);
    r.scheduled = n;
    this.counters.prefixQueries += r.known;
    this.counters.prefixHits += computed;
    if (r.cachedTokens < 0) {
      r.cachedTokens = Math.min(computed, r.promptLen);
      this.counters.promptTokens += r.promptLen;
    }
    return true;
  }

  private registerBlocks(r: SimRequest, bs: number): void {
    const hashes = r.hashes;
    if (hashes === null) return;
    let full = Math.floor(r.computed / bs);
    if (full > r.blocks.length) full = r.blocks.length;
    if (full > hashes.length) full = hashes.length;
    for (let b = r.hashed; b < full; b++) this.pool.register(r.blocks[b], hashes[b]);
    if (full > r.hashed) r.hashed = full;
  }

  private preempt(r: SimRequest, now: number): void {
    this.releaseBlocks(r);
    r.computed = 0;
    r.scheduled = 0;
    r.state = RequestState.Waiting;
    r.preemptions++;
    this.counters.preemptions++;
    if (r.lora !== null) {
      LoraSlots.bump(this.loras.runningCount, r.lora, -1);
      LoraSlots.bump(this.loras.waitingCount, r.lora, 1);
    }
    this.waiting.unshift(r);
    void now;
  }

  private releaseBlocks(r: SimRequest): void {
    this.pool.release(r.blocks);
    r.blocks = [];
    r.hashed = 0;
  }

  private failHead(now: number): void {
    const r = this.waiting.shift();
    if (r === undefined) return;
    if (r.lora !== null) LoraSlots.bump(this.loras.waitingCount, r.lora, -1);
    this.fail(r, 'request cannot be scheduled with the configured KV cache', now);
  }

  private fail(r: SimRequest, reason: string, now: number): void {
    r.state = RequestState.Failed;
    r.finishedAt = now;
    this.counters.failed++;
    r.sink.onFail(r, reason, now);
  }
}
