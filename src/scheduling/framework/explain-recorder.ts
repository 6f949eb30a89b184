/**
 * Collects the pieces of an explanation while a cycle runs. Exists only when a request asked
 * for an explanation (or debug logging is on), so the usual cycle has `explain === null`.
 */
import type { EndpointPool } from '../../pool/pool.js';
import type { Candidates } from './candidates.js';
import type { EndpointExplanation, Explanation } from './explain.js';

export class ExplainRecorder {
  private readonly filteredBy = new Map<number, string>();
  private readonly scores = new Map<number, Record<string, number>>();
  private readonly totals = new Map<number, number>();
  private readonly weights: Record<string, number> = {};
  private readonly considered: number[] = [];
  private profile = '';
  private picker = '';
  private fallback: string | null = null;

  constructor(
    private readonly pool: EndpointPool,
    private readonly now: number,
    private readonly stalenessMs: number,
  ) {}

  /** The slots the cycle started from. */
  start(profile: string, cands: Candidates): void {
    this.profile = profile;
    if (this.considered.length > 0) return; // the scheduler already registered the full list
    for (let k = 0; k < cands.length; k++) this.considered.push(cands.slots[k]);
  }

  /** Marks every slot of `before` missing from `after` as removed by `filter`. */
  filtered(filter: string, before: Candidates, after: Candidates): void {
    const kept = new Set<number>();
    for (let k = 0; k < after.length; k++) kept.add(after.slots[k]);
    for (let k = 0; k < before.length; k++) {
      const s = before.slots[k];
      if (!kept.has(s) && !this.filteredBy.has(s)) this.filteredBy.set(s, filter);
    }
  }

  /** Records one scorer's clamped scores and weight. */
  scored(scorer: string, weight: number, cands: Candidates, scores: Float64Array): void {
    this.weights[scorer] = weight;
    for (let k = 0; k < cands.length; k++) {
      const s = cands.slots[k];
      let row = this.scores.get(s);
      if (row === undefined) this.scores.set(s, (row = {}));
      row[scorer] = scores[k];
    }
  }

  /** Records the weighted totals. */
  total(cands: Candidates, totals: Float64Array): void {
    for (let k = 0; k < cands.length; k++) this.totals.set(cands.slots[k], totals[k]);
  }

  /** Notes that the stale-metrics fallback ran instead of the profile. */
  fellBack(reason: string): void {
    this.fallback = reason;
  }

  /** Builds the explanation with the picked slots. */
  finish(pickerName: string, picked: ArrayLike<number>, count: number): Explanation {
    this.picker = pickerName;
    const pool = this.pool;
    const endpoints: EndpointExplanation[] = [];
    for (const s of this.considered) {
      const ep = pool.atSlot(s);
      if (ep === null) continue;
      endpoints.push({
        endpoint: ep.key,
        filteredBy: this.filteredBy.get(s) ?? null,
        scores: this.scores.get(s) ?? {},
        total: this.totals.get(s) ?? 0,
        metrics: {
          waiting: pool.waiting[s],
          running: pool.running[s],
          kvUsage: pool.kvUsage[s],
          inflight: pool.inflight[s],
          fresh: this.stalenessMs <= 0 || pool.isFresh(s, this.now, this.stalenessMs),
        },
      });
    }
    const keys: string[] = [];
    for (let k = 0; k < count; k++) keys.push(pool.atSlot(picked[k])?.key ?? '?');
    return {
      profile: this.profile,
      weights: this.weights,
      picker: this.picker,
      picked: keys,
      fallback: this.fallback,
      endpoints,
    };
  }
}
