/**
 * The virtual-time scorecard: runs a scenario against simulated pods with one routing policy.
 *
 * A discrete-event loop drives every pod's engine model, the scenario's arrivals, session
 * think times and the picker's metrics scrapes on one virtual clock. Each request is handed to
 * the router as a client would send it (path + OpenAI JSON body); the pod it picks runs it.
 * Thousands of requests take seconds because nothing waits for real time.
 */
import type { Arrival } from '../../workload/arrivals.js';
import { scenarioArrivals } from '../../workload/trace-scenario.js';
import type { RequestRecord } from '../../workload/metrics.js';
import { podPools, type Scenario } from '../../workload/scenario.js';
import { WorkloadGenerator, newRecord, promptText, type SessionState, type WorkRequest } from '../../workload/workload.js';
import { Engine, type EngineCounters } from '../engine/engine.js';
import { Rng } from '../../util/random.js';
import { SimRequest, type RequestSink } from '../engine/request.js';
import { VirtualScheduler, type TimerHandle } from '../engine/scheduler.js';
import { synthText, tokenize } from '../../workload/tokenizer.js';
import { outputSeedFor } from '../pod/openai-request.js';
import type { RouteDecision, RouteOutcome, Router, RouterFactory } from './router.js';
import { pickTraceLine, type PickTrace, type PickTraceLine } from './pick-trace.js';
import { Encoder } from '@msgpack/msgpack';
import { encodeBatch, EngineEventTap, type SimKvEvent } from '../pod/kv-events-publisher.js';

/** Engine-side counters summed over the fleet for one stage. */
export interface FleetCounters {
  preemptions: number;
  loraLoads: number;
  prefixQueries: number;
  prefixHits: number;
  prefillTokens: number;
  generationTokens: number;
  steps: number;
}

/** The raw result of one policy run. */
export interface ScorecardRun {
  policy: string;
  seed: number;
  records: RequestRecord[];
  /** Fleet counters accumulated during each stage's time window. */
  stageCounters: FleetCounters[];
  /** Virtual time at the end, ms. */
  virtualMs: number;
  /** Events processed. */
  events: number;
  /** One line per request in issue order, when the run traced its picks (`tracePicks`). */
  picks?: PickTraceLine[];
}

/** Options of one run. */
export interface ScorecardRunOptions {
  /** Overrides the scenario seed (workload, arrivals, routers). */
  seed?: number;
  /** Called with the fraction of virtual time done, at most every 1% or so. */
  onProgress?: (fraction: number) => void;
  /** KV-event delivery to routers that subscribe: delay from the engine step to the router, and the share of batches lost. */
  kvEvents?: Partial<KvEventDelivery>;
  /** Keeps a line per request, with the pick's explanation where the policy gives one. */
  tracePicks?: boolean;
}

/** How KV events reach a subscribing router in virtual time. */
export interface KvEventDelivery {
  /** Delay from the engine's step to delivery, ms (default 5: a ZMQ hop plus batching). */
  delayMs: number;
  /** Fraction of batches lost in [0, 1] (default 0); lost batches leave sequence gaps. */
  loss: number;
}

export const DEFAULT_KV_EVENT_DELIVERY: KvEventDelivery = { delayMs: 5, loss: 0 };

interface Tracked {
  record: RequestRecord;
  itl: Float64Array;
  work: WorkRequest;
  session: SessionState | null;
  done: ((o: RouteOutcome) => void) | null;
  firstToken: (() => void) | null;
  sim: SimRequest | null;
  /** The router's explanation of the pick (traced runs only). */
  pick: PickTrace | null;
  /** Index of its line in the run's trace, or -1 when not traced. */
  line: number;
}

/** Runs `scenario` in virtual time with the router `makeRouter` builds. */
export async function runScorecard(scenario: Scenario, makeRouter: RouterFactory, opts: ScorecardRunOptions = {}): Promise<ScorecardRun> {
  const seed = opts.seed ?? scenario.seed;
  const sc: Scenario = seed === scenario.seed ? scenario : { ...scenario, seed };
  const sched = new VirtualScheduler();
  const { pods: nPods, profile, podProfiles, scrapeIntervalMs } = sc.fleet;
  const pools = podPools(sc.fleet);
  const router = await makeRouter({
    pods: nPods,
    ...(pools !== null ? { podPools: pools } : {}),
    seed,
    clock: sched,
    scrapeIntervalMs,
    timers: { set: (ms, fn) => sched.at(sched.now() + ms, fn), clear: (h) => sched.cancel(h as TimerHandle) },
    objectives: sc.objectives,
    explain: opts.tracePicks === true,
  });
  const engines: Engine[] = [];
  for (let i = 0; i < nPods; i++) {
    const e = new Engine(podProfiles[i], sched, { histograms: false });
    for (const a of sc.workload.lora?.adapters ?? []) e.loras.register(a, `/adapters/${a}`);
    engines.push(e);
  }
  if (router.onKvEvents !== undefined) {
    const delivery = { ...DEFAULT_KV_EVENT_DELIVERY, ...opts.kvEvents };
    const lossRng = new Rng(seed).fork('kv-event-loss');
    engines.forEach((e, i) => attachEventTap(e, i, router, sched, delivery, lossRng));
  }
  const run = new VirtualRun(sc, router, engines, new WorkloadGenerator(sc, profile.model), sched, opts.tracePicks === true);
  run.scheduleArrivals(scenarioArrivals(sc, sc.maxRequests));
  run.startScrapes();
  run.recordStageBoundaries();
  await run.drive(opts.onProgress);
  await router.close?.();
  opts.onProgress?.(1);
  const out: ScorecardRun = { policy: router.name, seed, records: run.records, stageCounters: run.stageCounters(), virtualMs: sched.now(), events: run.events };
  // Every request has ended by now, so every line is filled.
  if (run.picks !== null) out.picks = run.picks as PickTraceLine[];
  return out;
}

/**
 * One policy's run: the requests in flight and their records, the scenario's stage clock, and
 * the steps (issue a request, hand it to the router, submit it to the picked pod's engine,
 * record tokens, finish) that the event loop drives.
 */
class VirtualRun {
  readonly records: RequestRecord[] = [];
  /** Trace lines in issue order (null: not traced). */
  readonly picks: Array<PickTraceLine | null> | null;
  events = 0;
  private readonly live = new Set<Tracked>();
  /** Router decisions still being awaited (async routers). */
  private pending = 0;
  private issued = 0;
  private readonly stageEnds: number[] = [];
  private readonly arrivalsEnd: number;
  private readonly hardStop: number;
  private readonly boundaries: FleetCounters[] = [];
  private readonly sink: RequestSink;

  constructor(
    private readonly sc: Scenario,
    private readonly router: Awaited<ReturnType<RouterFactory>>,
    private readonly engines: readonly Engine[],
    private readonly gen: WorkloadGenerator,
    private readonly sched: VirtualScheduler,
    traced: boolean,
  ) {
    this.picks = traced ? [] : null;
    let acc = 0;
    for (const st of sc.arrivals.stages) this.stageEnds.push((acc += st.duration * 1000));
    this.arrivalsEnd = acc;
    this.hardStop = acc + sc.drainS * 1000;
    this.sink = {
      onToken: (req, now) => {
        const t = req.user as Tracked;
        const r = t.record;
        if (req.output === 1) {
          r.firstToken = now;
          t.firstToken?.();
          t.firstToken = null;
        } else t.itl[req.output - 2] = now - r.lastToken;
        r.lastToken = now;
      },
      onFinish: (req, now) => {
        const t = req.user as Tracked;
        this.finish(t, now, true, null, req.output, Math.max(0, req.cachedTokens));
        if (t.session !== null) {
          const nxt = this.gen.next(t.session, syntheticAnswer(req));
          if (nxt !== null && now + nxt.delayMs < this.arrivalsEnd && this.issued < this.sc.maxRequests) {
            this.sched.at(now + nxt.delayMs, () => this.issue(nxt.request, t.session));
          }
        }
      },
      onFail: (req, reason, now) => {
        this.finish(req.user as Tracked, now, false, `engine: ${reason}`, req.output, Math.max(0, req.cachedTokens));
      },
    };
  }

  /** The stage a request issued at `t` belongs to. */
  private stageAt(t: number): number {
    const ends = this.stageEnds;
    for (let i = 0; i < ends.length; i++) if (t < ends[i]) return i;
    return ends.length - 1;
  }

  /** Schedules the scenario's first requests (sessions' next turns follow their answers). */
  scheduleArrivals(arrivals: readonly Arrival[]): void {
    for (const a of arrivals) {
      this.sched.at(a.at, () => {
        if (this.issued >= this.sc.maxRequests) return;
        const { request, session } = this.gen.first(a);
        this.issue(request, session);
      });
    }
  }

  /** Metrics scrapes: the picker sees each pod's state as of the scrape, `metricsLagMs` later. */
  startScrapes(): void {
    const router = this.router;
    if (router.onScrape === undefined && router.onScrapeStarted === undefined) return;
    const { pods, scrapeIntervalMs, metricsLagMs } = this.sc.fleet;
    const sched = this.sched;
    const scrape = (): void => {
      const now = sched.now();
      for (let i = 0; i < pods; i++) {
        router.onScrapeStarted?.(i, now);
        const state = this.engines[i].state();
        if (metricsLagMs > 0) sched.at(now + metricsLagMs, () => router.onScrape?.(i, state, sched.now()));
        else router.onScrape?.(i, state, now);
      }
      if (now + scrapeIntervalMs < this.hardStop && (now < this.arrivalsEnd || this.live.size > 0)) sched.at(now + scrapeIntervalMs, scrape);
    };
    scrape();
  }

  /** Fleet counters at stage boundaries. */
  recordStageBoundaries(): void {
    this.boundaries.push(fleetCounters(this.engines));
    for (const end of this.stageEnds) this.sched.at(end, () => this.boundaries.push(fleetCounters(this.engines)));
  }

  /** Runs the event loop to the end of the scenario (or its drain), then times out what is left. */
  async drive(onProgress: ((fraction: number) => void) | undefined): Promise<void> {
    const sched = this.sched;
    let lastProgress = -1;
    while (sched.peekTime() <= this.hardStop) {
      if (!sched.step()) break;
      this.events++;
      if (this.pending > 0) await new Promise<void>((r) => setImmediate(r));
      if (onProgress !== undefined && (this.events & 1023) === 0) {
        const f = Math.min(1, sched.now() / this.arrivalsEnd);
        if (f - lastProgress >= 0.01) {
          lastProgress = f;
          onProgress(f);
        }
      }
      if (sched.now() >= this.arrivalsEnd && this.live.size === 0 && this.pending === 0) break;
    }
    while (this.boundaries.length <= this.stageEnds.length) this.boundaries.push(fleetCounters(this.engines));
    const stopAt = Math.max(sched.now(), this.arrivalsEnd);
    for (const t of [...this.live]) this.finish(t, stopAt, false, 'timeout', t.sim?.output ?? 0, -1);
    for (const e of this.engines) e.stop();
  }

  /** Fleet counters accumulated during each stage's time window. */
  stageCounters(): FleetCounters[] {
    const out: FleetCounters[] = [];
    for (let i = 0; i < this.stageEnds.length; i++) out.push(diff(this.boundaries[i + 1], this.boundaries[i]));
    return out;
  }

  private finish(t: Tracked, now: number, ok: boolean, error: string | null, output: number, cached: number): void {
    if (!this.live.delete(t)) return;
    const r = t.record;
    r.end = now;
    r.ok = ok;
    r.error = error;
    r.outputTokens = output;
    r.cachedTokens = cached;
    r.itl = t.itl.subarray(0, Math.max(0, output - 1));
    t.done?.({ ok, promptTokens: r.promptTokens, completionTokens: output, cachedTokens: cached });
    t.done = null;
    if (this.picks !== null && t.line >= 0) {
      this.picks[t.line] = pickTraceLine(r, t.work, this.sc.arrivals.stages[r.stage]?.name ?? String(r.stage), t.sim?.adapterLoadMs ?? 0, t.pick);
    }
  }

  /** Sends one request to the router and, once it picks, to that pod's engine. */
  private issue(work: WorkRequest, session: SessionState | null): void {
    const now = this.sched.now();
    this.issued++;
    if (work.stage < 0) work.stage = this.stageAt(now);
    const prompt = tokenize(promptText(work));
    const record = newRecord(work, now, prompt.length);
    this.records.push(record);
    const tracked: Tracked = { record, itl: new Float64Array(Math.max(0, work.maxTokens - 1)), work, session, done: null, firstToken: null, sim: null, pick: null, line: -1 };
    this.live.add(tracked);
    // The slot is filled when the request ends, so lines stay in issue order.
    if (this.picks !== null) tracked.line = this.picks.push(null) - 1;
    let body: Buffer | null = null;
    const gen = this.gen;
    const decision = this.router.route({
      work,
      path: WorkloadGenerator.path(work),
      // Built on demand: baselines never look at the body.
      get body(): Buffer {
        return (body ??= gen.body(work));
      },
      promptTokens: prompt.length,
      tokens: prompt,
      now,
    });
    if (decision instanceof Promise) {
      this.pending++;
      decision.then(
        (d) => {
          this.pending--;
          this.apply(tracked, prompt, d);
        },
        (err: unknown) => {
          this.pending--;
          this.finish(tracked, this.sched.now(), false, `router: ${err instanceof Error ? err.message : String(err)}`, 0, -1);
        },
      );
    } else this.apply(tracked, prompt, decision);
  }

  /** Carries out the router's decision for one request. */
  private apply(tracked: Tracked, prompt: Int32Array, d: RouteDecision): void {
    const { record, work } = tracked;
    if (d.kind === 'reject') {
      this.finish(tracked, this.sched.now(), false, `reject_${d.status}`, 0, -1);
      return;
    }
    record.pod = d.pod;
    if (d.pick !== undefined) tracked.pick = d.pick;
    tracked.done = d.done;
    tracked.firstToken = d.firstToken ?? null;
    const engine = this.engines[d.pod];
    const invalid = engine.validate(prompt.length, work.maxTokens, work.lora);
    if (invalid !== null) {
      this.finish(tracked, this.sched.now(), false, 'http_400', 0, -1);
      return;
    }
    tracked.sim = new SimRequest({
      id: work.id,
      prompt,
      maxTokens: work.maxTokens,
      outputSeed: outputSeedFor(prompt, null),
      lora: work.lora,
      sink: this.sink,
      user: tracked,
    });
    engine.submit(tracked.sim);
  }
}

/**
 * Publishes `engine`'s cache changes to `router` as vLLM would: events of one delivery window in
 * one batch with the next sequence number, delivered `delayMs` after the first of them; a lost
 * batch still takes its sequence number, so the router sees the gap.
 */
function attachEventTap(engine: Engine, pod: number, router: Router, sched: VirtualScheduler, d: KvEventDelivery, rng: Rng): void {
  let seq = 0;
  let pending: SimKvEvent[] = [];
  const encoder = new Encoder({ useBigInt64: true });
  const flush = (): void => {
    const events = pending;
    pending = [];
    const s = seq++;
    if (d.loss > 0 && rng.next() < d.loss) return;
    router.onKvEvents?.(pod, s, encodeBatch(sched.now() / 1000, events, { encoding: 'map', hashes: 'int' }, encoder));
  };
  const push = (e: SimKvEvent): void => {
    if (pending.length === 0) sched.at(sched.now() + d.delayMs, flush);
    pending.push(e);
  };
  const tap = new EngineEventTap(() => undefined);
  // The tap's own batching is for real time; here each event goes straight to the virtual-time window.
  engine.kv.storeListener = { stored: (r, first, count, bs) => tap.toEvent(r, first, count, bs, push) };
  engine.pool.evictionListener = { removed: (hash) => push({ type: 'removed', hashes: [hash] }) };
}

/** The answer a client would have read: the words behind the request's output token ids. */
function syntheticAnswer(req: SimRequest): string {
  return synthText(req.outputSeed, req.output);
}

function fleetCounters(engines: readonly Engine[]): FleetCounters {
  const out: FleetCounters = {
    preemptions: 0,
    loraLoads: 0,
    prefixQueries: 0,
    prefixHits: 0,
    prefillTokens: 0,
    generationTokens: 0,
    steps: 0,
  };
  for (const e of engines) {
    const c: EngineCounters = e.counters;
    out.preemptions += c.preemptions;
    out.loraLoads += e.loras.loads;
    out.prefixQueries += c.prefixQueries;
    out.prefixHits += c.prefixHits;
    out.prefillTokens += c.prefillTokens;
    out.generationTokens += c.generationTokens;
    out.steps += c.steps;
  }
  return out;
}

function diff(a: FleetCounters, b: FleetCounters): FleetCounters {
  const out = { ...a };
  for (const k of Object.keys(out) as Array<keyof FleetCounters>) out[k] = a[k] - b[k];
  return out;
}
