/**
 * The terminal summary: one row per policy with the headline numbers (medians over seeds), then
 * TTFT p90 and output tokens/s per stage.
 */
import { describeRules } from '../workload/judge.js';
import { overallCell, type Judgement } from './judgement.js';
import { HEADLINES, type Headline, type Report } from './report.js';

const COLUMNS: Headline[] = [
  'ttftP50',
  'ttftP90',
  'ttftP99',
  'tpotP50',
  'ntpotP90',
  'e2eP90',
  'outputTps',
  'rps',
  'successPct',
  'goodputPct',
  'hitPct',
  'preemptions',
  'loraLoads',
  'podCv',
];

/** Formats a number compactly: NaN as '-', integers as such, 1-2 decimals below 100. */
export function fmt(v: number): string {
  if (Number.isNaN(v)) return '-';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function grid(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The summary table(s) of a report. */
export function renderTable(report: Report): string {
  const seeds = report.aggregates[0]?.seeds.length ?? 0;
  const head = `${report.scenario.name}: ${report.runs.length} run(s), ${seeds} seed(s) per policy; medians, warm-up excluded`;
  const j = report.judgement;
  // A lost cell reads `123 !`; the losses column counts every scope (overall and each stage).
  const mark = (policy: string, c: Headline, v: string): string => (overallCell(j, policy, c)?.verdict === 'loss' ? `${v} !` : v);
  const lossCount = (policy: string): string => String(j?.counts.find((x) => x.policy === policy)?.loss ?? '-');
  const overall = grid(
    ['policy', ...COLUMNS.map((c) => HEADLINES[c]), ...(j === null ? [] : ['losses'])],
    report.aggregates.map((a) => [a.policy, ...COLUMNS.map((c) => mark(a.policy, c, fmt(a.headlines[c].median))), ...(j === null ? [] : [lossCount(a.policy)])]),
  );
  const stages = report.scenario.stages;
  const stageHeader = ['TTFT p90 (ms) per stage', ...stages.map((s) => `${s.name}${s.warmup ? '*' : ''}`)];
  const perStage = grid(
    stageHeader,
    report.aggregates.map((a) => [a.policy, ...a.stageTtftP90.map((v, i) => stageCell(a.stageRan[i], v))]),
  );
  const tpsStage = grid(
    ['output tok/s per stage', ...stages.map((s) => `${s.name}${s.warmup ? '*' : ''}`)],
    report.aggregates.map((a) => [a.policy, ...a.stageOutputTps.map((v, i) => stageCell(a.stageRan[i], v))]),
  );
  return `${head}\n\n${overall}\n\n${perStage}\n\n${tpsStage}\n(* warm-up, excluded from the first table)\n${renderLosses(j)}${renderFailures(report)}`;
}

/** Every lost cell with the reference it lost to, one line each, and the rule; empty without a judgement. */
export function renderLosses(j: Judgement | null): string {
  if (j === null) return '';
  const lines = [`! ${describeRules()}.`];
  const order = new Map(j.counts.map((c, i) => [c.policy, i]));
  const lost = j.cells.filter((c) => c.verdict === 'loss').sort((a, b) => (order.get(a.policy) ?? 0) - (order.get(b.policy) ?? 0));
  if (lost.length === 0) lines.push('no losses');
  for (const c of lost) lines.push(`loss: ${c.policy} · ${c.scope} · ${HEADLINES[c.metric]} ${fmt(c.value)} vs ${fmt(c.reference)} (${c.referencePolicy})`);
  return `\n${lines.join('\n')}\n`;
}

/** A per-stage number, or `not run` for a stage no request was sent in. */
export function stageCell(ran: boolean | undefined, v: number): string {
  return ran === false ? 'not run' : fmt(v);
}

/** Warnings and the failed requests by error (count and first message); empty when none. */
export function renderFailures(report: Report): string {
  const out: string[] = [];
  for (const w of report.warnings) out.push(`warning: ${w}`);
  const runs = report.runs.filter((r) => r.failures.length > 0);
  for (const r of runs) {
    const who = report.runs.length > 1 ? ` (${r.policy}, seed ${r.seed})` : '';
    const w0 = Math.max(6, ...r.failures.map((f) => f.error.length));
    const w1 = Math.max(5, ...r.failures.map((f) => String(f.count).length));
    out.push(`failed requests${who}:`, `  ${'status'.padEnd(w0)}  ${'count'.padStart(w1)}  first message`);
    for (const f of r.failures) out.push(`  ${f.error.padEnd(w0)}  ${String(f.count).padStart(w1)}  ${f.firstMessage ?? '-'}`);
  }
  return out.length === 0 ? '' : `\n${out.join('\n')}\n`;
}
