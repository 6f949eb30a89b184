/**
 * The virtual-time scorecard: runs a scenario against simulated pods with one routing policy.
 *
 * A discrete-event loop drives every pod's engine model, the scenario's arrivals, session
 * think times and the picker's metrics scrapes on one virtual clock. Each request is handed to
 * the router as a client would send it (path + OpenAI JSON body); the pod it picks runs it.
 * Thousands of requests take seconds because nothing waits for real time.
 */
import { planArrivals, type Arrival } from '../../workload/arrivals.js';
import type { RequestRecord } from '../../workload/metrics.js';
import type { Scenario } from '../../workload/scenario.js';
import { WorkloadGenerator, newRecord, promptText, type SessionState, type WorkRequest } from '../../workload/workload.js';
import { Engine, type EngineCounters } from '../engine/engine.js';
import { Rng } from '../../util/random.js';
import { SimRequest, type RequestSink } from '../engine/request.js';
import { VirtualScheduler, type TimerHandle } from '../engine/scheduler.js';
import { synthText, tokenize } from '../../workload/tokenizer.js';
import { outputSeedFor } from '../pod/openai-request.js';
import type { RouteDecision, RouteOutcome, RouterFactory } from './router.js';

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
}

/** Options of one run. */
export interface ScorecardRunOptions {
  /** Overrides the scenario seed (workload, arrivals, routers). */
  seed?: number;
  /** Called with the fraction of virtual time done, at most every 1% or so. */
  onProgress?: (fraction: number) => void;
}

interface Tracked {
  record: RequestRecord;
  itl: Float64Array;
  work: WorkRequest;
  session: SessionState | null;
  done: ((o: RouteOutcome) => void) | null;
  firstToken: (() => void) | null;
  sim: SimRequest | null;
}

/** Runs `scenario` in virtual time with the router `makeRouter` builds. */
export async function runScorecard(scenario: Scenario, makeRouter: RouterFactory, opts: ScorecardRunOptions = {}): Promise<ScorecardRun> {
  const seed = opts.seed ?? scenario.seed;
  const sc: Scenario = seed === scenario.seed ? scenario : { ...scenario, seed };
  const sched = new VirtualScheduler();
  const { pods: nPods, profile, scrapeIntervalMs, metricsLagMs } = sc.fleet;
  const router = await makeRouter({
    pods: nPods,
    seed,
    clock: sched,
    scrapeIntervalMs,
    timers: { set: (ms, fn) => sched.at(sched.now() + ms, fn), clear: (h) => sched.cancel(h as TimerHandle) },
    objectives: sc.objectives,
  });
  const engines: Engine[] = [];
  for (let i = 0; i < nPods; i++) {
    const e = new Engine(profile, sched, { histograms: false });
    for (const a of sc.workload.lora?.adapters ?? []) e.loras.register(a, `/adapters/${a}`);
    engines.push(e);
  }
  const gen = new WorkloadGenerator(sc, profile.model);
  const arrivals = planArrivals(sc.arrivals, new Rng(seed).fork('arrivals'), sc.maxRequests);
  const stageEnds: number[] = [];
  let acc = 0;
  for (const st of sc.arrivals.stages) stageEnds.push((acc += st.duration * 1000));
  const arrivalsEnd = acc;
  const hardStop = arrivalsEnd + sc.drainS * 1000;
  const stageAt = (t: number): number => {
    for (let i = 0; i < stageEnds.length; i++) if (t < stageEnds[i]) return i;
    return stageEnds.length - 1;
  };

  const records: RequestRecord[] = [];
  const live = new Set<Tracked>();
  let pending = 0;
  let issued = 0;

  const sink: RequestSink = {
    onToken(req, now) {
      const t = req.user as Tracked;
      const r = t.record;
      if (req.output === 1) {
        r.firstToken = now;
        t.firstToken?.();
        t.firstToken = null;
      }
      else t.itl[req.output - 2] = now - r.lastToken;
      r.lastToken = now;
    },
    onFinish(req, now) {
      const t = req.user as Tracked;
      finish(t, now, true, null, req.output, Math.max(0, req.cachedTokens));
      if (t.session !== null) {
        const nxt = gen.next(t.session, syntheticAnswer(req));
        if (nxt !== null && now + nxt.delayMs < arrivalsEnd && issued < sc.maxRequests) {
          sched.at(now + nxt.delayMs, () => issue(nxt.request, t.session));
        }
      }
    },
    onFail(req, reason, now) {
      finish(req.user as Tracked, now, false, `engine: ${reason}`, req.output, Math.max(0, req.cachedTokens));
    },
  };

  function finish(t: Tracked, now: number, ok: boolean, error: string | null, output: number, cached: number): void {
    if (!live.delete(t)) return;
    const r = t.record;
    r.end = now;
    r.ok = ok;
    r.error = error;
    r.outputTokens = output;
    r.cachedTokens = cached;
    r.itl = t.itl.subarray(0, Math.max(0, output - 1));
    t.done?.({ ok, promptTokens: r.promptTokens, completionTokens: output, cachedTokens: cached });
    t.done = null;
  }

  function issue(work: WorkRequest, session: SessionState | null): void {
    const now = sched.now();
    issued++;
    if (work.stage < 0) work.stage = stageAt(now);
    const prompt = tokenize(promptText(work));
    const record = newRecord(work, now, prompt.length);
    records.push(record);
    const tracked: Tracked = {
      record,
      itl: new Float64Array(Math.max(0, work.maxTokens - 1)),
      work,
      session,
      done: null,
      firstToken: null,
      sim: null,
    };
    live.add(tracked);
    let body: Buffer | null = null;
    const decision = router.route({
      work,
      path: WorkloadGenerator.path(work),
      // Built on demand: baselines never look at the body.
      get body(): Buffer {
        return (body ??= gen.body(work));
      },
      promptTokens: prompt.length,
      now,
    });
    const apply = (d: RouteDecision): void => {
      if (d.kind === 'reject') {
        finish(tracked, sched.now(), false, `reject_${d.status}`, 0, -1);
        return;
      }
      record.pod = d.pod;
      tracked.done = d.done;
      tracked.firstToken = d.firstToken ?? null;
      const engine = engines[d.pod];
      const invalid = engine.validate(prompt.length, work.maxTokens, work.lora);
      if (invalid !== null) {
        finish(tracked, sched.now(), false, 'http_400', 0, -1);
        return;
      }
      tracked.sim = new SimRequest({
        id: work.id,
        prompt,
        maxTokens: work.maxTokens,
        outputSeed: outputSeedFor(prompt, null),
        lora: work.lora,
        sink,
        user: tracked,
      });
      engine.submit(tracked.sim);
    };
    if (decision instanceof Promise) {
      pending++;
      decision.then(
        (d) => {
          pending--;
          apply(d);
        },
        (err: unknown) => {
          pending--;
          finish(tracked, sched.now(), false, `router: ${err instanceof Error ? err.message : String(err)}`, 0, -1);
        },
      );
    } else apply(decision);
  }

  for (const a of arrivals) {
    sched.at(a.at, () => {
      if (issued >= sc.maxRequests) return;
      const { request, session } = gen.first(a as Arrival);
      issue(request, session);
    });
  }

  // Metrics scrapes: the picker sees each pod's state as of the scrape, `metricsLagMs` later.
  const scrape = (): void => {
    const now = sched.now();
    for (let i = 0; i < nPods; i++) {
      router.onScrapeStarted?.(i, now);
      const state = engines[i].state();
      if (metricsLagMs > 0) sched.at(now + metricsLagMs, () => router.onScrape?.(i, state, sched.now()));
      else router.onScrape?.(i, state, now);
    }
    if (now + scrapeIntervalMs < hardStop && (now < arrivalsEnd || live.size > 0)) sched.at(now + scrapeIntervalMs, scrape);
  };
  if (router.onScrape !== undefined || router.onScrapeStarted !== undefined) scrape();

  // Fleet counters at stage boundaries.
  const boundaries: FleetCounters[] = [fleetCounters(engines)];
  for (const end of stageEnds) sched.at(end, () => boundaries.push(fleetCounters(engines)));

  let events = 0;
  let lastProgress = -1;
  while (sched.peekTime() <= hardStop) {
    if (!sched.step()) break;
    events++;
    if (pending > 0) await new Promise<void>((r) => setImmediate(r));
    if (opts.onProgress !== undefined && (events & 1023) === 0) {
      const f = Math.min(1, sched.now() / arrivalsEnd);
      if (f - lastProgress >= 0.01) {
        lastProgress = f;
        opts.onProgress(f);
      }
    }
    if (sched.now() >= arrivalsEnd && live.size === 0 && pending === 0) break;
  }
  while (boundaries.length <= stageEnds.length) boundaries.push(fleetCounters(engines));
  const stopAt = Math.max(sched.now(), arrivalsEnd);
  for (const t of [...live]) finish(t, stopAt, false, 'timeout', t.sim?.output ?? 0, -1);
  for (const e of engines) e.stop();
  await router.close?.();
  opts.onProgress?.(1);

  const stageCounters: FleetCounters[] = [];
  for (let i = 0; i < stageEnds.length; i++) stageCounters.push(diff(boundaries[i + 1], boundaries[i]));
  return { policy: router.name, seed, records, stageCounters, virtualMs: sched.now(), events };
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
