/**
 * Collects the pieces of an explanation while a cycle runs. Exists only when a request asked
 * for an explanation (or debug logging is on), so the usual cycle has `explain === null`.
 */
import type { EndpointPool } from '../../pool/pool.js';
import type { Candidates } from './candidates.js';
import type { DecisiveTerm, EndpointExplanation, Explanation } from './explain.js';

export class ExplainRecorder {
  private readonly filteredBy = new Map<number, string>();
  private readonly spilledBy = new Map<number, string>();
  private readonly allowedBy = new Map<number, string>();
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

  /** Marks `slot` as let in by `filter` past its own bounds (a spill). */
  spilled(filter: string, slot: number): void {
    this.spilledBy.set(slot, filter);
  }

  /** Marks `slot` as kept by `filter` only through an allowance past its bound. */
  allowed(filter: string, slot: number): void {
    this.allowedBy.set(slot, filter);
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
        spilledBy: this.spilledBy.get(s) ?? null,
        allowedBy: this.allowedBy.get(s) ?? null,
        scores: this.scores.get(s) ?? {},
        total: this.totals.get(s) ?? 0,
        metrics: {
          waiting: pool.waiting[s],
          running: pool.running[s],
          kvUsage: pool.kvUsage[s],
          inflight: pool.inflight[s],
          pendingPrefill: pool.pendingPrefill[s],
          tpotMs: pool.signal.tpot[s],
          ttftMs: pool.signal.ttft[s],
          preemptions: pool.signal.preemptions[s],
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
      decisive: this.fallback === null && count > 0 ? this.decisive(picked[0]) : null,
      endpoints,
    };
  }

  /** The pick against the scored candidate with the next-best total. */
  private decisive(pickedSlot: number): DecisiveTerm {
    let runner = -1;
    let best = -Infinity;
    for (const [s, t] of this.totals) {
      if (s !== pickedSlot && t > best) {
        best = t;
        runner = s;
      }
    }
    const filtered: Record<string, number> = {};
    for (const f of this.filteredBy.values()) filtered[f] = (filtered[f] ?? 0) + 1;
    const margins: Record<string, number> = {};
    let term: string | null = null;
    let top = 0;
    if (runner >= 0) {
      const mine = this.scores.get(pickedSlot) ?? {};
      const theirs = this.scores.get(runner) ?? {};
      for (const [name, w] of Object.entries(this.weights)) {
        const m = w * ((mine[name] ?? 0) - (theirs[name] ?? 0));
        margins[name] = m;
        if (m > top) {
          top = m;
          term = name;
        }
      }
    }
    const spilledBy = this.spilledBy.get(pickedSlot) ?? null;
    const allowedBy = this.allowedBy.get(pickedSlot) ?? null;
    const pickedBelowBest = runner >= 0 && (this.totals.get(pickedSlot) ?? 0) < best;
    const runnerUp = runner >= 0 ? (this.pool.atSlot(runner)?.key ?? null) : null;
    return { runnerUp, margins, term, filtered, spilledBy, allowedBy, pickedBelowBest };
  }
}
