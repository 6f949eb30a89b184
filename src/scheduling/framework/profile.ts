/**
 * A scheduling profile: filters, weighted scorers and a picker, run as three straight steps.
 * Scores are clamped to [0,1] and multiplied by their weight; the total is a plain weighted sum,
 * as in the Go EPP.
 */
import type { CycleState } from './cycle.js';
import { Candidates, type Filter, type Picker, type Plugin, type PreRequest, type PrepareData, type Scorer } from './plugin.js';

/** A scorer with its profile weight. */
export interface WeightedScorer {
  scorer: Scorer;
  weight: number;
}

/** Observes plugin latency (`inference_extension_plugin_duration_seconds`). */
export interface PluginTimer {
  observe(extensionPoint: 'PrepareData' | 'Filter' | 'Scorer' | 'Picker' | 'PreRequest', plugin: Plugin, seconds: number): void;
}

/** Outcome of running a profile: picked slots in `out[0..count)`, or the filter that emptied the list. */
export type ProfileOutcome = { ok: true; count: number } | { ok: false; reason: string };

export class SchedulerProfile {
  private a: Candidates;
  private b: Candidates;
  private scratch: Float64Array;
  private totals: Float64Array;

  constructor(
    readonly name: string,
    readonly filters: readonly Filter[],
    readonly scorers: readonly WeightedScorer[],
    readonly picker: Picker,
    readonly preRequests: readonly PreRequest[],
    private readonly timer: PluginTimer | null = null,
    /** Plugins that compute cycle data over every candidate before the filters (producers first). */
    readonly prepares: readonly PrepareData[] = [],
  ) {
    this.a = new Candidates(16);
    this.b = new Candidates(16);
    this.scratch = new Float64Array(16);
    this.totals = new Float64Array(16);
  }

  /**
   * Runs filters, scorers and the picker over `input` (left unchanged). Picked slots are written
   * to `out`, best first.
   */
  run(cycle: CycleState, input: Candidates, out: Int32Array): ProfileOutcome {
    const n = input.length;
    this.ensure(n);
    const timer = this.timer;
    const explain = cycle.explain;
    explain?.start(this.name, input);

    for (const p of this.prepares) {
      const t0 = timer !== null ? performance.now() : 0;
      p.prepare(cycle, input);
      if (timer !== null) timer.observe('PrepareData', p, (performance.now() - t0) / 1000);
    }

    // Filters: each writes into the spare buffer; the first empty result ends the run.
    let cur = input;
    for (const f of this.filters) {
      const next = cur === this.a ? this.b : this.a;
      next.length = 0;
      const t0 = timer !== null ? performance.now() : 0;
      f.filter(cycle, cur, next);
      if (timer !== null) timer.observe('Filter', f, (performance.now() - t0) / 1000);
      explain?.filtered(f.typedName.name, cur, next);
      if (next.length === 0) return { ok: false, reason: `filter ${f.typedName.name} left no endpoints` };
      cur = next;
    }

    const m = cur.length;
    const totals = this.totals;
    const scratch = this.scratch;
    totals.fill(0, 0, m);
    for (const { scorer, weight } of this.scorers) {
      const t0 = timer !== null ? performance.now() : 0;
      scorer.score(cycle, cur, scratch);
      if (timer !== null) timer.observe('Scorer', scorer, (performance.now() - t0) / 1000);
      for (let k = 0; k < m; k++) {
        let v = scratch[k];
        // NaN counts as 0; clamp keeps a misbehaving scorer from dominating.
        v = v > 0 ? (v < 1 ? v : 1) : 0;
        scratch[k] = v;
        totals[k] += v * weight;
      }
      explain?.scored(scorer.typedName.name, weight, cur, scratch);
    }
    explain?.total(cur, totals);

    const t0 = timer !== null ? performance.now() : 0;
    const count = this.picker.pick(cycle, cur, totals, out);
    if (timer !== null) timer.observe('Picker', this.picker, (performance.now() - t0) / 1000);
    if (count === 0) return { ok: false, reason: `picker ${this.picker.typedName.name} picked nothing` };
    return { ok: true, count };
  }

  /** Runs the profile's PreRequest plugins for a successful pick. */
  after(cycle: CycleState, picked: Int32Array, count: number): void {
    const timer = this.timer;
    for (const p of this.preRequests) {
      const t0 = timer !== null ? performance.now() : 0;
      p.preRequest(cycle, picked, count);
      if (timer !== null) timer.observe('PreRequest', p, (performance.now() - t0) / 1000);
    }
  }

  private ensure(n: number): void {
    if (this.scratch.length >= n) return;
    const cap = Math.max(n, this.scratch.length * 2);
    this.a = new Candidates(cap);
    this.b = new Candidates(cap);
    this.scratch = new Float64Array(cap);
    this.totals = new Float64Array(cap);
  }
}
