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
import type { BlockPool } from './block-pool.js';
import { newCounters, type EngineCounters, type EngineState } from './engine-state.js';
import { Deque } from './deque.js';
import { E2E_BUCKETS, Histogram, ITL_BUCKETS, TTFT_BUCKETS } from './histogram.js';
import { KvCacheManager } from './kv-cache-manager.js';
import { LoraSlots } from './lora-slots.js';
import type { EngineProfile } from '../../workload/engine-profile.js';
import { RequestState, SimRequest } from './request.js';
import type { SimScheduler, TimerHandle } from './scheduler.js';

export type { EngineCounters, EngineState } from './engine-state.js';

export class Engine {
  readonly profile: EngineProfile;
  /** KV blocks and prefix cache. */
  readonly kv: KvCacheManager;
  /** The KV block pool (`kv.pool`). */
  readonly pool: BlockPool;
  readonly loras: LoraSlots;
  readonly waiting = new Deque<SimRequest>();
  readonly running: SimRequest[] = [];
  readonly counters: EngineCounters = newCounters();
  readonly ttft = new Histogram(TTFT_BUCKETS);
  readonly itl = new Histogram(ITL_BUCKETS);
  readonly e2e = new Histogram(E2E_BUCKETS);

  private readonly scheduler: SimScheduler;
  private readonly batch: SimRequest[] = [];
  private readonly skipped: SimRequest[] = [];
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
    this.kv = new KvCacheManager(profile.numGpuBlocks, profile.blockSize, profile.enablePrefixCaching);
    this.pool = this.kv.pool;
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
      this.kv.release(req);
      if (req.lora !== null) this.loras.stopRunning(req.lora);
    }
    req.finishedAt = this.scheduler.now();
  }

  /** Current gauges. */
  state(): EngineState {
    return {
      model: this.profile.model,
      waiting: this.waiting.length,
      running: this.running.length,
      kvUsage: this.pool.usage(),
      runningAdapters: [...this.loras.runningCount.keys()],
      waitingAdapters: [...this.loras.waitingCount.keys()],
      maxLoras: this.profile.maxLoras,
      blockSize: this.profile.blockSize,
      numGpuBlocks: this.profile.numGpuBlocks,
      preemptions: this.counters.preemptions,
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
      let fits = this.kv.grow(r, n);
      while (!fits) {
        const victim = running.pop() as SimRequest;
        this.preempt(victim, now);
        preempted = true;
        if (victim === r) break;
        fits = this.kv.grow(r, n);
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
        if (!this.kv.admit(r, budget, this.counters)) break;
        if (r.cachedTokens < 0) {
          r.cachedTokens = Math.min(r.computed, r.promptLen);
          this.counters.promptTokens += r.promptLen;
        }
        waiting.shift();
        if (r.lora !== null) {
          LoraSlots.bump(loras.waitingCount, r.lora, -1);
          LoraSlots.bump(loras.runningCount, r.lora, 1);
          const ms = loras.activate(r.lora);
          r.adapterLoadMs += ms;
          loadMs += ms;
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
    const kv = this.kv;
    let finishedAny = false;
    let produced = 0;
    for (let k = 0; k < batch.length; k++) {
      const r = batch[k];
      if (r.state !== RequestState.Running) continue;
      const computed = (r.computed += r.scheduled);
      r.scheduled = 0;
      if (kv.filledBlock(r)) kv.register(r);
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
        this.kv.release(r);
        if (r.lora !== null) this.loras.stopRunning(r.lora);
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

  private preempt(r: SimRequest, now: number): void {
    this.kv.release(r);
    r.computed = 0;
    r.scheduled = 0;
    r.state = RequestState.Waiting;
    r.preemptions++;
    this.counters.preemptions++;
    if (r.lora !== null) {
      this.loras.stopRunning(r.lora);
      LoraSlots.bump(this.loras.waitingCount, r.lora, 1);
    }
    this.waiting.unshift(r);
    void now;
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
