/**
 * The fleet's capacity for a workload, found by a least-request calibration ladder in virtual
 * time: Poisson arrivals at a rising rate, a fixed number of arrivals per rung. A rung **holds**
 * when nearly every request succeeds (99%), the queue does not grow (the median TTFT of the last
 * third of the rung's requests stays within `slowdown` × that of the first third + `slackMs`),
 * and decode has not slowed past the knee (TPOT p50 within `tpotSlowdown` × that of the first,
 * light rung: 0.5 requests/s per pod by default).
 * The ladder grows by `growth` while rungs hold, then halves the interval between the last rung
 * that held and the first that did not (geometrically) `bisections` times. Capacity is the
 * highest rate that held.
 *
 * Both tests are relative to the workload's own latency scale, so one rule fits 500-token chats
 * and 16k-token system prompts alike. A growing queue marks a rate above what the fleet serves;
 * the TPOT knee catches the overload a short rung cannot show as a queue: a large fleet absorbs
 * a few hundred arrivals into its running batches, which then decode ever slower.
 *
 * A rung must also last several service times (`minServiceTimes` × the first rung's E2E p50):
 * a fixed count of arrivals at a high rate is a burst, which a large fleet's batches absorb with
 * neither test noticing, and the ladder then climbed to thousands of requests/s per pod.
 */
import { leastRequest } from './router.js';
import { runScorecard } from './runner.js';
import { requestLatencies, type RequestRecord } from '../../workload/metrics.js';
import type { Scenario } from '../../workload/scenario.js';

export interface LadderOptions {
  /** First rung, requests/s. */
  start: number;
  growth: number;
  bisections: number;
  slowdown: number;
  slackMs: number;
  /** Most TPOT p50 may grow over the first rung's. */
  tpotSlowdown: number;
  /** Most rungs up (or down) before giving up. */
  maxRungs?: number;
  /** Each rung after the first lasts at least this many light-load E2E p50s (0: no minimum). */
  minServiceTimes?: number;
}

/** One rung's measurement. */
export interface Rung {
  rate: number;
  holds: boolean;
  successRate: number;
  /** Median TTFT of the first and last third of requests (by start), ms. */
  ttftFirst: number;
  ttftLast: number;
  /** TPOT p50 of the rung's successful requests, ms. */
  tpotP50: number;
  /** E2E p50 of the rung's successful requests, ms. */
  e2eP50: number;
}

export interface Calibration {
  /** Highest rate that held, requests (or sessions) per second. */
  capacity: number;
  rungs: Rung[];
  /** The light-load (first rung's) E2E p50, ms: the workload's service time. */
  serviceMs: number;
}

/** Whether a rung's records show a fleet that keeps up; `tpotLimit` ms (Infinity for the first rung). */
export function rungHolds(records: readonly RequestRecord[], slowdown: number, slackMs: number, tpotLimit: number): Omit<Rung, 'rate'> {
  const n = records.length;
  const ok = records.filter((r) => r.ok);
  const successRate = n === 0 ? 0 : ok.length / n;
  const byStart = [...records].sort((a, b) => a.start - b.start);
  const third = Math.max(1, Math.floor(n / 3));
  const ttft = (rs: readonly RequestRecord[]): number => {
    // A failed request counts as never served: it sorts last.
    const v = rs.map((r) => (r.ok ? (requestLatencies(r).ttft ?? Infinity) : Infinity)).sort((a, b) => a - b);
    return v.length === 0 ? NaN : v[v.length >> 1];
  };
  const ttftFirst = ttft(byStart.slice(0, third));
  const ttftLast = ttft(byStart.slice(n - third));
  const tpots = ok.map((r) => requestLatencies(r).tpot).filter((t): t is number => t !== null).sort((a, b) => a - b);
  const tpotP50 = tpots.length === 0 ? NaN : tpots[tpots.length >> 1];
  const e2es = ok.map((r) => r.end - r.start).sort((a, b) => a - b);
  const e2eP50 = e2es.length === 0 ? NaN : e2es[e2es.length >> 1];
  const holds = n > 0 && successRate >= 0.99 && ttftLast <= ttftFirst * slowdown + slackMs && !(tpotP50 > tpotLimit);
  return { holds, successRate, ttftFirst, ttftLast, tpotP50, e2eP50 };
}

/** Scenario files take rates up to this. */
const MAX_RATE = 100_000;

/**
 * Runs the ladder; `scenarioAt(rate, minSeconds)` builds one rung's scenario, lasting at least
 * `minSeconds` (0 for the first rung).
 */
export async function calibrateCapacity(scenarioAt: (rate: number, minSeconds: number) => Scenario, opts: LadderOptions, onRung?: (r: Rung) => void): Promise<Calibration> {
  const rungs: Rung[] = [];
  const maxRungs = opts.maxRungs ?? 12;
  let tpotLimit = Infinity;
  let serviceMs = NaN;
  let minSeconds = 0;
  const measure = async (rate: number): Promise<boolean> => {
    const sc = scenarioAt(rate, minSeconds);
    const run = await runScorecard(sc, (c) => leastRequest(c.pods, c.seed));
    const rung = { rate, ...rungHolds(run.records, opts.slowdown, opts.slackMs, tpotLimit) };
    // The first rung is light by construction: its decode speed and E2E are the baselines.
    if (rungs.length === 0 && Number.isFinite(rung.tpotP50)) tpotLimit = rung.tpotP50 * opts.tpotSlowdown;
    if (rungs.length === 0 && Number.isFinite(rung.e2eP50)) {
      serviceMs = rung.e2eP50;
      minSeconds = ((opts.minServiceTimes ?? 0) * serviceMs) / 1000;
    }
    rungs.push(rung);
    onRung?.(rung);
    return rung.holds;
  };
  let lo = NaN;
  let hi = NaN;
  let rate = opts.start;
  if (await measure(rate)) {
    lo = rate;
    for (let i = 0; i < maxRungs && Number.isNaN(hi) && rate * opts.growth <= MAX_RATE; i++) {
      rate *= opts.growth;
      if (await measure(rate)) lo = rate;
      else hi = rate;
    }
  } else {
    hi = rate;
    for (let i = 0; i < maxRungs && Number.isNaN(lo); i++) {
      rate /= opts.growth;
      if (await measure(rate)) lo = rate;
      else hi = rate;
    }
  }
  if (Number.isNaN(lo)) return { capacity: rate, rungs, serviceMs };
  if (Number.isNaN(hi)) return { capacity: lo, rungs, serviceMs };
  for (let i = 0; i < opts.bisections; i++) {
    const mid = Math.sqrt(lo * hi);
    if (await measure(mid)) lo = mid;
    else hi = mid;
  }
  return { capacity: lo, rungs, serviceMs };
}
