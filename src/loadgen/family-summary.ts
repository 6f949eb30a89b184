/**
 * The summary of a generated family run: wins, ties and losses per metric and policy summed
 * over every scenario's verdicts (`judgement.ts`), and the worst losses with the scenario file
 * that replays each one.
 */
import { JUDGED_METRICS, REFERENCE_POLICIES, REQUIRED_METRICS, bestReference, judge, severity, twinOf, worse, type JudgedMetric } from '../workload/judge.js';
import type { Report } from './report.js';
import { HEADLINES } from './report.js';
import { fmt } from './table.js';

/** One scenario's report and the file it was generated to. */
export interface FamilyEntry {
  file: string;
  report: Report;
}

export interface VerdictTally {
  win: number;
  tie: number;
  loss: number;
}

/** A loss, where to replay it, and how bad it is. */
export interface WorstLoss {
  policy: string;
  scenario: string;
  file: string;
  scope: string;
  metric: JudgedMetric;
  value: number;
  reference: number;
  referencePolicy: string;
  /** Times worse than the reference (see `severity`). */
  severity: number;
}

/**
 * A policy against its twin (the same policy with its own tie-break stream, `NAME@K`), over every
 * judged cell both have: how often one is more than the loss margin worse than the other, and
 * how many of the policy's losses its twin has too (those do not hang on one run's luck).
 */
export interface TwinTally {
  policy: string;
  twin: string;
  cells: number;
  /** Cells where the twin is worse than the policy by the judge's rule (margin and floor). */
  twinWorse: number;
  /** Cells where the policy is worse than its twin. */
  policyWorse: number;
  losses: number;
  /** The policy's losses whose cell its twin loses too. */
  sharedLosses: number;
}

/**
 * A policy's losses on the required metrics (`REQUIRED_METRICS`), whole runs only (the overall
 * scope, not per stage): the count the default profile's no-loss goal is read from.
 */
export interface RequiredTally {
  policy: string;
  /** Required cells lost. */
  losses: number;
  /** Scenarios with at least one of them. */
  scenariosLost: number;
  /** Scenarios where the policy was judged and lost none. */
  lossFree: number;
}

export interface FamilySummary {
  family: string;
  scenarios: number;
  policies: string[];
  seeds: number[];
  /** Per policy: per metric, and the total. */
  tallies: Array<{ policy: string; total: VerdictTally; byMetric: Record<JudgedMetric, VerdictTally> }>;
  /** Every loss, worst first. */
  losses: WorstLoss[];
  /** Per policy: losses on the required metrics over whole runs, and the scenarios free of them. */
  required: RequiredTally[];
  /** Each policy run beside its twin (`NAME@K`): how far chance alone moves its cells. */
  twins: TwinTally[];
  /**
   * The references run again (every reference's twin `NAME@K` in the run, for one K), judged on
   * the required metrics as one policy named `references@K` that has the better twin's value in
   * each cell: what the no-loss goal charges a policy exactly as good as the references by
   * chance alone.
   */
  rerun: RequiredTally[];
  /** Wall time of the whole run, ms (calibration included). */
  wallMs: number;
}

/** Sums the verdicts of `entries`. */
export function summarizeFamily(family: string, entries: readonly FamilyEntry[], wallMs: number): FamilySummary {
  const policies: string[] = [];
  for (const e of entries) for (const a of e.report.aggregates) if (!policies.includes(a.policy)) policies.push(a.policy);
  const empty = (): VerdictTally => ({ win: 0, tie: 0, loss: 0 });
  const tallies = policies.map((policy) => {
    const byMetric = {} as Record<JudgedMetric, VerdictTally>;
    for (const m of JUDGED_METRICS) byMetric[m] = empty();
    return { policy, total: empty(), byMetric };
  });
  const losses: WorstLoss[] = [];
  for (const e of entries) {
    for (const c of e.report.judgement?.cells ?? []) {
      const t = tallies[policies.indexOf(c.policy)];
      t.byMetric[c.metric][c.verdict]++;
      t.total[c.verdict]++;
      if (c.verdict === 'loss') {
        losses.push({
          policy: c.policy,
          scenario: e.report.scenario.name,
          file: e.file,
          scope: c.scope,
          metric: c.metric,
          value: c.value,
          reference: c.reference,
          referencePolicy: c.referencePolicy,
          severity: severity(c.metric, c.value, c.reference),
        });
      }
    }
  }
  losses.sort((a, b) => b.severity - a.severity || (a.scenario < b.scenario ? -1 : 1));
  const seeds = [...new Set(entries.flatMap((e) => e.report.aggregates.flatMap((a) => a.seeds)))].sort((a, b) => a - b);
  return {
    family,
    scenarios: entries.length,
    policies,
    seeds,
    tallies,
    losses,
    required: tallyRequired(policies, entries),
    twins: tallyTwins(policies, entries),
    rerun: tallyRerun(policies, entries),
    wallMs,
  };
}

/** Each policy's required-metric losses over whole runs, and how many scenarios they fall in. */
function tallyRequired(policies: readonly string[], entries: readonly FamilyEntry[]): RequiredTally[] {
  const out = policies.map((policy): RequiredTally => ({ policy, losses: 0, scenariosLost: 0, lossFree: 0 }));
  const lost = new Array<number>(policies.length);
  const judged = new Array<boolean>(policies.length);
  for (const e of entries) {
    lost.fill(0);
    judged.fill(false);
    for (const c of e.report.judgement?.cells ?? []) {
      if (c.scope !== 'overall' || !REQUIRED_METRICS.includes(c.metric)) continue;
      const i = policies.indexOf(c.policy);
      judged[i] = true;
      if (c.verdict === 'loss') lost[i]++;
    }
    for (let i = 0; i < policies.length; i++) if (judged[i]) countScenario(out[i], lost[i]);
  }
  return out;
}

/** Adds one judged scenario with `lost` required losses to `t`. */
function countScenario(t: RequiredTally, lost: number): void {
  t.losses += lost;
  if (lost > 0) t.scenariosLost++;
  else t.lossFree++;
}

/** Each K for which every reference has its twin `NAME@K` in the run: the better twin per required cell, judged. */
function tallyRerun(policies: readonly string[], entries: readonly FamilyEntry[]): RequiredTally[] {
  const out: RequiredTally[] = [];
  for (const p of policies) {
    if (twinOf(p) !== REFERENCE_POLICIES[0]) continue;
    const k = p.slice(p.lastIndexOf('@'));
    const twins = REFERENCE_POLICIES.map((r) => r + k);
    if (!twins.every((t) => policies.includes(t))) continue;
    const t: RequiredTally = { policy: `references${k}`, losses: 0, scenariosLost: 0, lossFree: 0 };
    const values = new Array<number>(twins.length);
    for (const e of entries) {
      const cells = (e.report.judgement?.cells ?? []).filter((c) => c.scope === 'overall' && twins.includes(c.policy));
      let judged = false;
      let lost = 0;
      for (const m of REQUIRED_METRICS) {
        values.fill(NaN);
        let reference = NaN;
        for (const c of cells) {
          if (c.metric !== m) continue;
          values[twins.indexOf(c.policy)] = c.value;
          reference = c.reference;
        }
        const v = judge(m, bestReference(m, values).value, reference);
        if (v === null) continue;
        judged = true;
        if (v === 'loss') lost++;
      }
      if (judged) countScenario(t, lost);
    }
    out.push(t);
  }
  return out;
}

/** The required metrics' names, for the summary's line and table. */
const requiredNames = (): string => REQUIRED_METRICS.map((m) => HEADLINES[m].replace(/ \(.*\)$| %$/, '')).join(', ');

/** Every policy paired with each of its twins in the run, compared cell by cell. */
function tallyTwins(policies: readonly string[], entries: readonly FamilyEntry[]): TwinTally[] {
  const out: TwinTally[] = [];
  for (const twin of policies) {
    const policy = twinOf(twin);
    if (policy === null || !policies.includes(policy)) continue;
    const t: TwinTally = { policy, twin, cells: 0, twinWorse: 0, policyWorse: 0, losses: 0, sharedLosses: 0 };
    for (const e of entries) {
      const cells = e.report.judgement?.cells ?? [];
      const key = (c: (typeof cells)[number]): string => `${c.scope}|${c.stage}|${c.metric}`;
      const mine = new Map(cells.filter((c) => c.policy === twin).map((c) => [key(c), c]));
      for (const c of cells) {
        if (c.policy !== policy) continue;
        const d = mine.get(key(c));
        if (d === undefined) continue;
        if (c.verdict === 'loss') {
          t.losses++;
          if (d.verdict === 'loss') t.sharedLosses++;
        }
        if (!Number.isFinite(c.value) || !Number.isFinite(d.value)) continue;
        t.cells++;
        if (worse(c.metric, d.value, c.value)) t.twinWorse++;
        if (worse(c.metric, c.value, d.value)) t.policyWorse++;
      }
    }
    out.push(t);
  }
  return out;
}

/** One line per twin pair: the judge's noise floor for that policy on these scenarios. */
function twinLines(s: FamilySummary): string[] {
  if (s.twins.length === 0) return [];
  return [
    '',
    'twins (the same policy, its own tie-breaks): cells where one is more than 10% worse than the other; losses the twin has too',
    ...s.twins.map(
      (t) =>
        `  ${t.twin} vs ${t.policy}: ${t.twinWorse + t.policyWorse} of ${t.cells} cells apart (twin worse ${t.twinWorse}, ${t.policy} worse ${t.policyWorse}); ` +
        `${t.sharedLosses} of ${t.policy}'s ${t.losses} losses shared`,
    ),
  ];
}

/** What a `references@K` row is: the noise floor of the required count. */
const rerunNote = (r: RequiredTally): string => {
  const k = r.policy.slice(r.policy.lastIndexOf('@'));
  return `the better of ${REFERENCE_POLICIES.map((p) => p + k).join(' and ')} in each cell: the references run again`;
};

/** A required tally as a terminal line, its name padded to `width`. */
const requiredLine = (r: RequiredTally, width: number): string => `  ${r.policy.padEnd(width)}  ${r.losses} in ${r.scenariosLost} of ${r.scenariosLost + r.lossFree}`;

const tally = (t: VerdictTally): string => `${t.win}/${t.tie}/${t.loss}`;

/** The worst `n` losses of `policy`. */
export function worstOf(s: FamilySummary, policy: string, n: number): WorstLoss[] {
  return s.losses.filter((l) => l.policy === policy).slice(0, n);
}

/** Markdown: the wins/ties/losses table (cells `w/t/l`) and the worst losses per policy. */
export function familyMarkdown(s: FamilySummary, worstPerPolicy = 5): string {
  const lines = [
    `${s.scenarios} scenarios × ${s.policies.length} policies × ${s.seeds.length} seeds (${s.seeds.join(', ')}); medians over seeds; each cell wins/ties/losses against the better of least-request and go-epp.`,
    '',
    `| policy | ${JUDGED_METRICS.map((m) => HEADLINES[m]).join(' | ')} | total |`,
    `|---|${JUDGED_METRICS.map(() => '---:').join('|')}|---:|`,
  ];
  for (const t of s.tallies) lines.push(`| ${t.policy} | ${JUDGED_METRICS.map((m) => tally(t.byMetric[m])).join(' | ')} | ${tally(t.total)} |`);
  lines.push(
    '',
    `Required metrics (${requiredNames()}), whole runs only:`,
    '',
    '| policy | cells lost | scenarios with a loss | scenarios without |',
    '|---|---:|---:|---:|',
    ...s.required.map((r) => `| ${r.policy} | ${r.losses} | ${r.scenariosLost} | ${r.lossFree} |`),
    ...s.rerun.map((r) => `| ${r.policy} (${rerunNote(r)}) | ${r.losses} | ${r.scenariosLost} | ${r.lossFree} |`),
  );
  for (const p of s.policies) {
    const worst = worstOf(s, p, worstPerPolicy);
    if (worst.length === 0) continue;
    lines.push('', `Worst losses of \`${p}\`:`, '', '| scenario file | scope | metric | value | reference | × worse |', '|---|---|---|---:|---:|---:|');
    for (const l of worst) lines.push(`| \`${l.file}\` | ${l.scope} | ${HEADLINES[l.metric]} | ${fmt(l.value)} | ${fmt(l.reference)} (${l.referencePolicy}) | ${fmt(l.severity)} |`);
  }
  lines.push(...twinLines(s));
  return lines.join('\n') + '\n';
}

/** The terminal version: one block per policy (w/t/l per metric), then the worst losses. */
export function renderFamilySummary(s: FamilySummary, worstPerPolicy = 3): string {
  const header = ['policy', ...JUDGED_METRICS.map((m) => HEADLINES[m]), 'total w/t/l'];
  const rows = s.tallies.map((t) => [t.policy, ...JUDGED_METRICS.map((m) => tally(t.byMetric[m])), tally(t.total)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [
    `family ${s.family}: ${s.scenarios} scenarios × ${s.policies.length} policies × ${s.seeds.length} seeds in ${fmt(s.wallMs / 1000)} s; wins/ties/losses against the better of least-request and go-epp`,
    '',
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    '',
    `required metrics (${requiredNames()}; whole runs): cells lost, in how many scenarios`,
    ...s.required.map((r) => requiredLine(r, widths[0])),
    ...s.rerun.map((r) => `${requiredLine(r, widths[0])}  ${rerunNote(r)}`),
  ];
  for (const p of s.policies) {
    const worst = worstOf(s, p, worstPerPolicy);
    if (worst.length === 0) continue;
    out.push('', `worst losses of ${p}:`);
    for (const l of worst) out.push(`  ${fmt(l.severity)}× ${HEADLINES[l.metric]} ${fmt(l.value)} vs ${fmt(l.reference)} (${l.referencePolicy}) · ${l.scope} · ${l.file}`);
  }
  out.push(...twinLines(s));
  return out.join('\n') + '\n';
}
