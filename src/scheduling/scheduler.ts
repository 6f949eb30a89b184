/**
 * The scheduler: builds the candidate list (the gateway's subset hint, then fresh metrics),
 * runs the profile, and falls back to least-in-flight when every candidate's metrics are stale.
 *
 * Unlike the Go EPP, endpoints with stale metrics are not picked while fresh ones exist (its
 * issue #1497): a pod whose last scrape looked idle must not attract traffic after it stopped
 * answering scrapes. When all are stale, scheduling still works on the picker's own in-flight
 * counts rather than failing.
 */
import type { Endpoint } from '../pool/endpoint.js';
import type { EndpointPool } from '../pool/pool.js';
import { CycleState, type SchedulingRequest } from './framework/cycle.js';
import { PREFIX_MATCH } from './framework/prefix-match.js';
import type { Explanation } from './framework/explain.js';
import { ExplainRecorder } from './framework/explain-recorder.js';
import { Candidates } from './framework/candidates.js';
import type { SchedulerProfile } from './framework/profile.js';

/** Name under which explanations report endpoints left out for stale metrics. */
export const STALENESS_FILTER = 'metrics-staleness';

/** Scheduler settings. */
export interface SchedulerOptions {
  /** Metrics older than this (ms) are stale; 0 disables the check. */
  stalenessThresholdMs: number;
  /** Random numbers in [0,1) for tie-breaks. */
  rng: () => number;
}

/** Result of one scheduling cycle. */
export type ScheduleResult =
  | {
      kind: 'picked';
      endpoints: Endpoint[];
      explanation: Explanation | null;
      stale: boolean;
      /** Fraction of the prompt the primary endpoint is believed to cache (0 when unknown). */
      prefixMatch: number;
    }
  | { kind: 'no-candidates'; explanation: Explanation | null }
  | { kind: 'failed'; reason: string; explanation: Explanation | null };

export class Scheduler {
  private all: Candidates;
  private fresh: Candidates;
  private out: Int32Array;

  constructor(
    readonly pool: EndpointPool,
    readonly profile: SchedulerProfile,
    readonly opts: SchedulerOptions,
  ) {
    this.all = new Candidates(pool.capacity);
    this.fresh = new Candidates(pool.capacity);
    this.out = new Int32Array(Math.max(1, profile.picker.maxEndpoints));
  }

  /**
   * Schedules `req` over the pool, restricted to endpoints whose address is in `subset` when a
   * subset hint is given, never picking an endpoint whose key is in `exclude`.
   */
  schedule(req: SchedulingRequest, subset: ReadonlySet<string> | null, explain: boolean, exclude: ReadonlySet<string> | null = null): ScheduleResult {
    const pool = this.pool;
    const now = pool.clock.now();
    const threshold = this.opts.stalenessThresholdMs;
    const recorder = explain ? new ExplainRecorder(pool, now, threshold) : null;
    const all = this.all;
    const fresh = this.fresh;
    all.ensure(pool.capacity);
    fresh.ensure(pool.capacity);
    all.length = 0;
    fresh.length = 0;

    const eps = pool.endpoints();
    for (let i = 0; i < eps.length; i++) {
      const ep = eps[i];
      if (subset !== null && !subset.has(ep.address)) continue;
      if (exclude !== null && exclude.has(ep.key)) continue;
      all.push(ep.slot);
      if (threshold <= 0 || pool.isFresh(ep.slot, now, threshold)) fresh.push(ep.slot);
    }
    if (all.length === 0) return { kind: 'no-candidates', explanation: recorder?.finish('', this.out, 0) ?? null };

    const cycle = new CycleState(req, pool, now, this.opts.rng, recorder);
    const out = this.out;
    if (fresh.length === 0) {
      // Every candidate is stale: the scraped numbers mean nothing, our own counts still do.
      recorder?.start(this.profile.name, all);
      recorder?.fellBack('all candidate endpoints have stale metrics; picked by least in-flight requests');
      const count = leastInflight(pool, all, out, this.opts.rng);
      this.profile.after(cycle, out, count);
      return {
        kind: 'picked',
        endpoints: this.endpoints(count),
        explanation: recorder?.finish('least-inflight', out, count) ?? null,
        stale: true,
        prefixMatch: 0,
      };
    }

    if (recorder !== null && fresh.length < all.length) {
      recorder.start(this.profile.name, all);
      recorder.filtered(STALENESS_FILTER, all, fresh);
    }
    const r = this.profile.run(cycle, fresh, out);
    if (!r.ok) return { kind: 'failed', reason: r.reason, explanation: recorder?.finish(this.profile.picker.typedName.name, out, 0) ?? null };
    this.profile.after(cycle, out, r.count);
    return {
      kind: 'picked',
      endpoints: this.endpoints(r.count),
      explanation: recorder?.finish(this.profile.picker.typedName.name, out, r.count) ?? null,
      stale: false,
      prefixMatch: cycle.get(PREFIX_MATCH)?.fraction(out[0]) ?? 0,
    };
  }

  private endpoints(count: number): Endpoint[] {
    const res: Endpoint[] = [];
    for (let k = 0; k < count; k++) {
      const ep = this.pool.atSlot(this.out[k]);
      if (ep !== null) res.push(ep);
    }
    return res;
  }
}

/** Picks up to `out.length` slots with the fewest in-flight requests, random among ties. */
function leastInflight(pool: EndpointPool, cands: Candidates, out: Int32Array, rng: () => number): number {
  const want = Math.min(out.length, cands.length);
  const used = new Set<number>();
  for (let r = 0; r < want; r++) {
    let best = -1;
    let bestLoad = Infinity;
    let ties = 0;
    for (let k = 0; k < cands.length; k++) {
      const s = cands.slots[k];
      if (used.has(s)) continue;
      const load = pool.inflight[s];
      if (load < bestLoad) {
        bestLoad = load;
        best = s;
        ties = 1;
      } else if (load === bestLoad && rng() * ++ties < 1) best = s;
    }
    used.add(best);
    out[r] = best;
  }
  return want;
}
