/**
 * The last scheduling decisions, with each scorer's part, for the live dashboard. Explaining a
 * decision costs allocations, so the director asks `wants()` before each cycle and explains only
 * while someone watches, a few times per second: with no viewer the budget is 0 and `wants()` is
 * one comparison. Only routing facts are kept (model name, endpoints, scores), never request content.
 */
import type { Explanation } from '../../scheduling/framework/explain.js';

/** Candidates shown per decision: the best by weighted total (the picked ones always among them). */
const SHOWN_CANDIDATES = 8;

/** One candidate of a decision as the dashboard shows it. */
export interface DecisionCandidate {
  endpoint: string;
  /** The filter that removed it, or null. */
  filteredBy: string | null;
  /** The filter that let it in past its own bounds (a spill), or null. */
  spilledBy: string | null;
  /** The filter that kept it only through an allowance past its bound (it runs the requested adapter), or null. */
  allowedBy: string | null;
  /** Raw score in [0,1] per scorer. */
  scores: Record<string, number>;
  total: number;
  picked: boolean;
}

/** One explained decision. */
export interface DecisionView {
  /** Increases by one per recorded decision. */
  seq: number;
  /** Wall-clock time, epoch ms. */
  at: number;
  /** Pool that decided (multi-pool deployments show several). */
  pool: string;
  /** Target model after rewrites. */
  model: string;
  outcome: 'picked' | 'no-candidates' | 'failed';
  /** Why scheduling failed, or the stale-metrics fallback note; null otherwise. */
  note: string | null;
  profile: string;
  picker: string;
  /** Scorer name -> weight. */
  weights: Record<string, number>;
  picked: string[];
  /** Scheduling time, microseconds. */
  micros: number;
  /** Candidates considered in all. */
  considered: number;
  candidates: DecisionCandidate[];
  /** The picker chose below the best total (a near tie won on load, or a random draw). */
  pickedBelowBest: boolean;
}

/** The part of a decision the director reports. */
export interface DecisionReport {
  pool?: string;
  model: string;
  outcome: DecisionView['outcome'];
  reason: string | null;
  explanation: Explanation | null;
  seconds: number;
}

/** What the director needs: ask before scheduling, report after. */
export interface DecisionSampler {
  /** True when this cycle should be explained and reported (uses up budget). */
  wants(): boolean;
  record(d: DecisionReport): void;
}

/** `log` as one pool's sampler: its decisions carry the pool's name (several pools share one log). */
export function poolDecisions(log: DecisionSampler, pool: string): DecisionSampler {
  return { wants: () => log.wants(), record: (d) => log.record({ ...d, pool }) };
}

export class DecisionLog implements DecisionSampler {
  private budget = 0;
  private seq = 0;
  private readonly ring: Array<DecisionView | null>;
  private head = 0;

  constructor(readonly capacity = 20) {
    this.ring = new Array<DecisionView | null>(capacity).fill(null);
  }

  wants(): boolean {
    if (this.budget <= 0) return false;
    this.budget--;
    return true;
  }

  /** Allows `n` explained decisions until the next call (0: none, as with no viewer). */
  allow(n: number): void {
    this.budget = n;
  }

  record(d: DecisionReport): void {
    const e = d.explanation;
    const picked = new Set(e?.picked ?? []);
    const all = e?.endpoints ?? [];
    const shown = [...all]
      .sort((a, b) => Number(picked.has(b.endpoint)) - Number(picked.has(a.endpoint)) || Number(a.filteredBy !== null) - Number(b.filteredBy !== null) || b.total - a.total)
      .slice(0, SHOWN_CANDIDATES)
      .map((c) => ({ endpoint: c.endpoint, filteredBy: c.filteredBy, spilledBy: c.spilledBy, allowedBy: c.allowedBy, scores: c.scores, total: c.total, picked: picked.has(c.endpoint) }));
    this.ring[this.head] = {
      seq: ++this.seq,
      at: Date.now(),
      pool: d.pool ?? '',
      model: d.model,
      outcome: d.outcome,
      note: d.reason ?? e?.fallback ?? null,
      profile: e?.profile ?? '',
      picker: e?.picker ?? '',
      weights: e?.weights ?? {},
      picked: e?.picked ?? [],
      micros: Math.round(d.seconds * 1e6),
      considered: all.length,
      candidates: shown,
      pickedBelowBest: e?.decisive?.pickedBelowBest ?? false,
    };
    this.head = (this.head + 1) % this.capacity;
  }

  /** Sequence number of the newest decision (0 before any). */
  get latest(): number {
    return this.seq;
  }

  /** Decisions newer than `afterSeq`, oldest first. */
  since(afterSeq: number): DecisionView[] {
    const out: DecisionView[] = [];
    for (let k = 0; k < this.capacity; k++) {
      const d = this.ring[(this.head + k) % this.capacity];
      if (d !== null && d.seq > afterSeq) out.push(d);
    }
    return out;
  }
}
