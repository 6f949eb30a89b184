/**
 * A report's verdicts: every judged headline metric of every policy, overall and per measured
 * stage, against the better of the reference policies (the rule is `workload/judge.ts`).
 */
import { JUDGED_METRICS, LOSS_MARGIN, REFERENCE_POLICIES, bestReference, judge, type JudgedMetric, type Verdict } from '../workload/judge.js';

/** One judged number. */
export interface JudgedCell {
  policy: string;
  /** `overall` or the stage's name. */
  scope: string;
  /** Stage index, or -1 for the overall numbers. */
  stage: number;
  metric: JudgedMetric;
  value: number;
  /** The better reference's value, and which policy it came from. */
  reference: number;
  referencePolicy: string;
  verdict: Verdict;
}

/** Verdict counts of one policy. */
export interface VerdictCounts {
  policy: string;
  win: number;
  tie: number;
  loss: number;
}

export interface Judgement {
  /** Reference policies present in the report. */
  references: string[];
  margin: number;
  /** Every cell with a verdict (cells with no defined reference are left out). */
  cells: JudgedCell[];
  /** Per policy, in report order. */
  counts: VerdictCounts[];
}

/** One policy's numbers per scope (medians over seeds), keyed by headline name. */
export interface Judgeable {
  policy: string;
  scopes: ReadonlyArray<Readonly<Record<JudgedMetric, number>>>;
}

/** Judges `policies` on every scope; null when no reference policy is among them. */
export function judgePolicies(policies: readonly Judgeable[], scopes: ReadonlyArray<{ name: string; stage: number }>): Judgement | null {
  const refs = REFERENCE_POLICIES.map((name) => policies.find((p) => p.policy === name)).filter((p): p is Judgeable => p !== undefined);
  if (refs.length === 0) return null;
  const cells: JudgedCell[] = [];
  const counts: VerdictCounts[] = policies.map((p) => ({ policy: p.policy, win: 0, tie: 0, loss: 0 }));
  scopes.forEach((scope, si) => {
    for (const metric of JUDGED_METRICS) {
      const best = bestReference(
        metric,
        refs.map((r) => r.scopes[si][metric]),
      );
      if (best.index < 0) continue;
      policies.forEach((p, pi) => {
        const value = p.scopes[si][metric];
        const verdict = judge(metric, value, best.value);
        if (verdict === null) return;
        cells.push({ policy: p.policy, scope: scope.name, stage: scope.stage, metric, value, reference: best.value, referencePolicy: refs[best.index].policy, verdict });
        counts[pi][verdict]++;
      });
    }
  });
  return { references: refs.map((r) => r.policy), margin: LOSS_MARGIN, cells, counts };
}

/** The cell of `policy` for `metric` in the overall scope, if judged. */
export function overallCell(j: Judgement | null, policy: string, metric: string): JudgedCell | undefined {
  return j?.cells.find((c) => c.stage === -1 && c.policy === policy && c.metric === metric);
}
