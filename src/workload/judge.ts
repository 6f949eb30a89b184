/**
 * The loss rule of the scorecard: a policy's number is a **loss** when it is more than 10% worse
 * than the better of the reference policies (`least-request` and `go-epp`), a **win** when the
 * reference is more than 10% worse than it, and a **tie** otherwise. Every report, the family
 * summary and the benchmarks judge through `judge` so they cannot disagree.
 *
 * "Worse" knows each metric's direction. Latencies and engine counters are lower-is-better: `a`
 * is worse than `b` when a > 1.1·b. Goodput and success are percentages, higher-is-better: `a`
 * is worse when b > 1.1·a **or** the share of requests missing (100 − a) exceeds 1.1·(100 − b),
 * whichever is stricter; 97% against 99% goodput is three times the misses, so a loss.
 *
 * Floors: a difference no larger than the metric's floor is a tie whatever the ratio, so noise
 * at small values (0 vs 1 preemption, 31 vs 33 ms TTFT at idle) is not a verdict. TTFT 10 ms
 * (under two engine steps of the H100 profile, c0 5.75 ms), TPOT and NTPOT 1 ms, E2E 50 ms,
 * goodput and success 1 percentage point, preemptions and LoRA adapter loads 10.
 */

/** The headline metrics the scorecard judges, as the report names them. */
export const JUDGED_METRICS = ['ttftP50', 'ttftP90', 'ttftP99', 'tpotP50', 'ntpotP90', 'e2eP90', 'goodputPct', 'successPct', 'preemptions', 'loraLoads'] as const;
export type JudgedMetric = (typeof JUDGED_METRICS)[number];

/**
 * The metrics the default profile is held to no loss on (bench/RESULTS.md, "Default profile"):
 * the tails a user feels and the share served within the SLO. The medians, success and the
 * engine counters are judged too, but a trade there is reported, not a failure of the goal.
 */
export const REQUIRED_METRICS: readonly JudgedMetric[] = Object.freeze(['ttftP90', 'ttftP99', 'ntpotP90', 'e2eP90', 'goodputPct']);

/** How one metric is compared. */
export interface JudgeRule {
  better: 'lower' | 'higher';
  /** Absolute differences up to this are ties (metric units: ms, percentage points, counts). */
  floor: number;
  /** A 0..100 percentage: also compared on its complement (the share missing). */
  percent: boolean;
}

export const JUDGE_RULES: Readonly<Record<JudgedMetric, Readonly<JudgeRule>>> = Object.freeze({
  ttftP50: { better: 'lower', floor: 10, percent: false },
  ttftP90: { better: 'lower', floor: 10, percent: false },
  ttftP99: { better: 'lower', floor: 10, percent: false },
  tpotP50: { better: 'lower', floor: 1, percent: false },
  ntpotP90: { better: 'lower', floor: 1, percent: false },
  e2eP90: { better: 'lower', floor: 50, percent: false },
  goodputPct: { better: 'higher', floor: 1, percent: true },
  successPct: { better: 'higher', floor: 1, percent: true },
  preemptions: { better: 'lower', floor: 10, percent: false },
  loraLoads: { better: 'lower', floor: 10, percent: false },
});

/** More than this fraction worse is a loss. */
export const LOSS_MARGIN = 0.1;

/** The policies every other is judged against (the better of them, per cell). */
export const REFERENCE_POLICIES: readonly string[] = Object.freeze(['least-request', 'go-epp']);

/**
 * NAME for a twin's policy name `NAME@K` (K a whole number of up to 9 digits: the same policy
 * with its own tie-break stream), else null.
 */
export function twinOf(name: string): string | null {
  const m = /^(.+)@(\d{1,9})$/.exec(name);
  return m === null ? null : m[1];
}

export type Verdict = 'win' | 'tie' | 'loss';

/** Whether `a` is more than the margin (and the floor) worse than `b` on `metric`. Both finite. */
export function worse(metric: JudgedMetric, a: number, b: number): boolean {
  const r = JUDGE_RULES[metric];
  const k = 1 + LOSS_MARGIN;
  if (r.better === 'lower') return a - b > r.floor && a > b * k;
  if (!(b - a > r.floor)) return false;
  return b > a * k || (r.percent && 100 - a > (100 - b) * k);
}

/**
 * The reference value for `metric`: the better of `values` (NaN entries ignored), with the index
 * of the one chosen; NaN and -1 when none is finite.
 */
export function bestReference(metric: JudgedMetric, values: readonly number[]): { value: number; index: number } {
  let best = NaN;
  let index = -1;
  const lower = JUDGE_RULES[metric].better === 'lower';
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) return;
    if (index < 0 || (lower ? v < best : v > best)) {
      best = v;
      index = i;
    }
  });
  return { value: best, index };
}

/**
 * The verdict on `value` against `reference` (the better reference's value). Null when the
 * reference is undefined (NaN); a policy with no value where the reference has one (no request
 * succeeded, so no TTFT) loses.
 */
export function judge(metric: JudgedMetric, value: number, reference: number): Verdict | null {
  if (!Number.isFinite(reference)) return null;
  if (!Number.isFinite(value)) return 'loss';
  if (worse(metric, value, reference)) return 'loss';
  if (worse(metric, reference, value)) return 'win';
  return 'tie';
}

/** One line per rule, for legends and docs. */
export function describeRules(): string {
  const unit = (m: JudgedMetric): string => (JUDGE_RULES[m].percent ? ' pp' : m === 'preemptions' || m === 'loraLoads' ? '' : ' ms');
  const floors = JUDGED_METRICS.map((m) => `${m} ${JUDGE_RULES[m].floor}${unit(m)}`).join(', ');
  return `loss = more than ${LOSS_MARGIN * 100}% worse than the better of ${REFERENCE_POLICIES.join(' and ')} (goodput/success: also on the share missing); differences within a floor are ties (${floors})`;
}

/**
 * How many times worse `value` is than `reference` (> 1 for a loss), for ranking losses: the
 * ratio in the worse direction, with the floor as the smallest denominator so a 0 reference
 * does not make every loss infinite; percentages take the larger of the value and the missing
 * share ratios. Infinity when the value is undefined.
 */
export function severity(metric: JudgedMetric, value: number, reference: number): number {
  if (!Number.isFinite(value)) return Infinity;
  const r = JUDGE_RULES[metric];
  if (r.better === 'lower') return value / Math.max(reference, r.floor);
  const direct = reference / Math.max(value, r.floor);
  return r.percent ? Math.max(direct, (100 - value) / Math.max(100 - reference, r.floor)) : direct;
}
