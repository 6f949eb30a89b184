/**
 * The planner's searches, per policy, on the virtual-time scorecard:
 *
 * 1. Smallest fleet: at the scenario's load, the fewest pods (≤ max) that meet the SLO. Doubling
 *    from the scenario's fleet brackets it, bisection narrows it (pods are integers, so
 *    log2(max) probes), and the answer is confirmed with other seeds: if one misses the SLO the
 *    fleet grows by one and is tried again, so a lucky seed never makes the fleet too small.
 * 2. Highest load per pod: on that fleet, the largest multiple of the scenario's arrival rate
 *    that meets the SLO, bracketed by doubling (or halving) and bisected to a relative
 *    tolerance. The boundary is confirmed the same way, stepping down by the tolerance until
 *    every seed passes.
 *
 * `sweep` is the brute force both are checked against (search seed only): every fleet size, and
 * every load on a grid of the tolerance's step, on the plan's fleet, up to the first that fails.
 */
import type { Scenario } from '../../workload/scenario.js';
import type { RouterFactory } from '../scorecard/router.js';
import { runProbe, type ProbeResult } from './probe.js';
import type { SloSpec } from './slo-spec.js';

export interface SearchOptions {
  slo: SloSpec;
  maxPods: number;
  /** Relative width at which the load bisection stops (0.05 = 5%). */
  tolerance: number;
  /** Seed of the search probes. */
  seed: number;
  /** Seeds that must also pass at a boundary. */
  confirmSeeds: number[];
  /** Largest load multiple tried. */
  maxFactor: number;
  onProbe?: (p: ProbeResult) => void;
}

/** The search's answers for one policy. */
export interface PolicyPlan {
  policy: string;
  /** Fewest pods meeting the SLO at the scenario's load, or null if more than `maxPods` are needed. */
  pods: number | null;
  /** Whether the confirmation seeds passed at `pods`. */
  podsConfirmed: boolean;
  /** The fleet and load the search seed alone found, before confirmation. */
  searchedPods: number | null;
  searchedFactor: number | null;
  /** Largest passing load multiple on `pods` pods, or null (none found). */
  maxFactor: number | null;
  /** Requests per second per pod at `maxFactor`. */
  maxRatePerPod: number | null;
  /** Whether `maxFactor` is below the search's ceiling (otherwise the real limit is higher). */
  bounded: boolean;
  factorConfirmed: boolean;
  /** Probe at the boundary (primary seed) and the first failing probe above it, or null. */
  boundary: ProbeResult | null;
  breaking: ProbeResult | null;
  /** Pool gauges at the boundary, averaged over every seed run there. */
  queueAtBoundary: number | null;
  kvAtBoundary: number | null;
  /** Every probe, in the order run. */
  probes: ProbeResult[];
  /** Wall-clock time of the search, ms. */
  wallMs: number;
}

/** Runs probes for one policy, each (pods, factor, seed) at most once. */
export class Prober {
  readonly probes: ProbeResult[] = [];
  private readonly cache = new Map<string, ProbeResult>();

  constructor(
    private readonly scenario: Scenario,
    readonly policy: string,
    private readonly factory: RouterFactory,
    private readonly o: SearchOptions,
  ) {}

  async probe(pods: number, factor: number, seed = this.o.seed): Promise<ProbeResult> {
    const key = `${pods}|${factor}|${seed}`;
    let p = this.cache.get(key);
    if (p === undefined) {
      p = await runProbe(this.scenario, this.policy, this.factory, this.o.slo, pods, factor, seed);
      this.cache.set(key, p);
      this.probes.push(p);
      this.o.onProbe?.(p);
    }
    return p;
  }

  async pass(pods: number, factor: number, seed?: number): Promise<boolean> {
    return (await this.probe(pods, factor, seed)).pass;
  }

  /** The largest load below `below` on `pods` pods that the search seed and every confirmation seed already met, or 0. */
  knownConfirmed(pods: number, below: number): number {
    let best = 0;
    for (const x of this.probes) {
      if (x.pods !== pods || x.factor >= below || x.factor <= best || x.seed !== this.o.seed || !x.pass) continue;
      const all = this.o.confirmSeeds.every((s) => this.cache.get(`${pods}|${x.factor}|${s}`)?.pass === true);
      if (all) best = x.factor;
    }
    return best;
  }

  /** Whether every confirmation seed passes too. */
  async confirmed(pods: number, factor: number): Promise<boolean> {
    for (const s of this.o.confirmSeeds) if (!(await this.pass(pods, factor, s))) return false;
    return true;
  }
}

/** Fewest pods that meet the SLO at the scenario's load. */
export async function smallestFleet(
  p: Prober,
  startPods: number,
  o: SearchOptions,
): Promise<{ pods: number | null; confirmed: boolean; searched: number | null }> {
  let lo = 0;
  let hi: number | null = null;
  let n = Math.min(o.maxPods, Math.max(1, startPods));
  if (await p.pass(n, 1)) hi = n;
  else {
    lo = n;
    while (n < o.maxPods) {
      n = Math.min(o.maxPods, n * 2);
      if (await p.pass(n, 1)) {
        hi = n;
        break;
      }
      lo = n;
    }
  }
  if (hi === null) return { pods: null, confirmed: false, searched: null };
  let top: number = hi;
  while (top - lo > 1) {
    const mid = (lo + top) >> 1;
    if (await p.pass(mid, 1)) top = mid;
    else lo = mid;
  }
  const searched = top;
  // Confirmation: a boundary that only one seed passes moves up.
  for (let step = 0; step < 3; step++) {
    if ((await p.pass(top, 1)) && (await p.confirmed(top, 1))) return { pods: top, confirmed: true, searched };
    if (top >= o.maxPods) break;
    top++;
  }
  return { pods: top, confirmed: false, searched };
}

/** Largest load multiple that meets the SLO on `pods` pods. */
export async function highestLoad(
  p: Prober,
  pods: number,
  o: SearchOptions,
): Promise<{ factor: number | null; bounded: boolean; confirmed: boolean; breaking: number | null; searched: number | null }> {
  let lo = 0;
  let hi: number | null = null;
  let f = 1;
  const minFactor = 1 / 64;
  if (await p.pass(pods, 1)) {
    lo = 1;
    while (f < o.maxFactor) {
      f = Math.min(o.maxFactor, f * 2);
      if (await p.pass(pods, f)) lo = f;
      else {
        hi = f;
        break;
      }
    }
  } else {
    hi = 1;
    while (f > minFactor) {
      f /= 2;
      if (await p.pass(pods, f)) {
        lo = f;
        break;
      }
      hi = f;
    }
  }
  if (lo === 0) return { factor: null, bounded: true, confirmed: false, breaking: hi, searched: null };
  if (hi === null) return { factor: lo, bounded: false, confirmed: await p.confirmed(pods, lo), breaking: null, searched: lo };
  let top: number = hi;
  while ((top - lo) / lo > o.tolerance) {
    const mid = round4((lo + top) / 2);
    if (await p.pass(pods, mid)) lo = mid;
    else top = mid;
  }
  const searched = lo;
  // Confirmation: step down by the tolerance until every seed passes (at most 5 steps), never
  // below a load every seed already met.
  for (let step = 0; step < 5; step++) {
    if ((await p.pass(pods, lo)) && (await p.confirmed(pods, lo))) return { factor: lo, bounded: true, confirmed: true, breaking: top, searched };
    top = lo;
    lo = Math.max(round4(lo * (1 - o.tolerance)), p.knownConfirmed(pods, lo));
  }
  return { factor: lo, bounded: true, confirmed: false, breaking: top, searched };
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** Both searches for one policy. */
export async function planPolicy(scenario: Scenario, policy: string, factory: RouterFactory, o: SearchOptions): Promise<PolicyPlan> {
  const t0 = performance.now();
  const p = new Prober(scenario, policy, factory, o);
  const fleet = await smallestFleet(p, scenario.fleet.pods, o);
  // Without a fleet that meets the scenario's load, size the load on the largest one allowed.
  const pods = fleet.pods ?? o.maxPods;
  const load = await highestLoad(p, pods, o);
  const boundary = load.factor === null ? null : await p.probe(pods, load.factor);
  const breaking = load.breaking === null ? null : await p.probe(pods, load.breaking);
  let queueAtBoundary: number | null = null;
  let kvAtBoundary: number | null = null;
  if (load.factor !== null) {
    const at = p.probes.filter((x) => x.pods === pods && x.factor === load.factor);
    queueAtBoundary = at.reduce((s, x) => s + x.avgQueue, 0) / at.length;
    kvAtBoundary = at.reduce((s, x) => s + x.avgKv, 0) / at.length;
  }
  return {
    policy,
    pods: fleet.pods,
    podsConfirmed: fleet.confirmed,
    searchedPods: fleet.searched,
    searchedFactor: load.searched,
    maxFactor: load.factor,
    maxRatePerPod: boundary?.ratePerPod ?? null,
    bounded: load.bounded,
    factorConfirmed: load.confirmed,
    boundary,
    breaking,
    queueAtBoundary,
    kvAtBoundary,
    probes: p.probes,
    wallMs: performance.now() - t0,
  };
}

/** The brute-force answers for one policy. */
export interface SweepResult {
  policy: string;
  /** Fewest pods from which every larger fleet (≤ max) passes, or null. */
  pods: number | null;
  /** Pods the load grid ran on (the plan's fleet, so the two load answers compare). */
  loadPods: number;
  /** Largest grid load on `loadPods` pods such that it and every grid load below it pass, or null. */
  maxFactor: number | null;
  probes: ProbeResult[];
  wallMs: number;
}

/** Brute force: every fleet size, then every load on a grid of `tolerance` steps up to the first failure. */
export async function sweep(scenario: Scenario, policy: string, factory: RouterFactory, o: SearchOptions, loadPods: number): Promise<SweepResult> {
  const t0 = performance.now();
  const p = new Prober(scenario, policy, factory, o);
  const passes: boolean[] = [];
  for (let n = 1; n <= o.maxPods; n++) passes[n] = await p.pass(n, 1);
  let pods: number | null = null;
  for (let n = o.maxPods; n >= 1 && passes[n]; n--) pods = n;
  let maxFactor: number | null = null;
  for (let k = 1; k * o.tolerance <= o.maxFactor + 1e-9; k++) {
    const f = round4(k * o.tolerance);
    if (!(await p.pass(loadPods, f))) break;
    maxFactor = f;
  }
  return { policy, pods, loadPods, maxFactor, probes: p.probes, wallMs: performance.now() - t0 };
}
