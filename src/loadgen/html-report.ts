/**
 * The self-contained `report.html`: charts of latency percentiles and throughput per policy and
 * per stage, then the numbers behind them. One file, no scripts, no network.
 */
import { JUDGED_METRICS, describeRules } from '../workload/judge.js';
import type { Judgement, JudgedCell } from './judgement.js';
import { HEADLINES, type Headline, type Report } from './report.js';
import { barChart, esc, lineChart } from './svg-charts.js';
import { fmt } from './table.js';

const TABLE_COLUMNS: Headline[] = [
  'ttftP50',
  'ttftP90',
  'ttftP99',
  'tpotP50',
  'tpotP90',
  'ntpotP90',
  'itlP99',
  'e2eP90',
  'outputTps',
  'totalTps',
  'rps',
  'successPct',
  'goodputPct',
  'hitPct',
  'preemptions',
  'loraLoads',
  'podCv',
];

/** Renders the report page. */
export function renderHtml(report: Report): string {
  const ag = report.aggregates;
  const policies = ag.map((a) => a.policy);
  const med = (k: Headline): number[] => ag.map((a) => a.headlines[k].median);
  const stageNames = report.scenario.stages.map((s) => `${s.name}${s.warmup ? '*' : ''}`);
  const charts = [
    barChart({
      title: 'TTFT percentiles (warm-up excluded)',
      categories: policies,
      series: [
        { name: 'p50', values: med('ttftP50') },
        { name: 'p90', values: med('ttftP90') },
        { name: 'p99', values: med('ttftP99') },
      ],
      unit: 'ms',
      log: true,
    }),
    lineChart({
      title: 'TTFT p90 per stage',
      categories: stageNames,
      series: ag.map((a) => ({ name: a.policy, values: a.stageTtftP90 })),
      unit: 'ms',
      log: true,
    }),
    lineChart({
      title: 'Output tokens/s per stage',
      categories: stageNames,
      series: ag.map((a) => ({ name: a.policy, values: a.stageOutputTps })),
      unit: 'tokens/s',
    }),
    barChart({
      title: 'Per-token latency: TPOT p50 and NTPOT p90',
      categories: policies,
      series: [
        { name: 'TPOT p50', values: med('tpotP50') },
        { name: 'NTPOT p90', values: med('ntpotP90') },
      ],
      unit: 'ms',
    }),
    barChart({
      title: 'Prefix-cache hit, goodput and success',
      categories: policies,
      series: [
        { name: 'prefix hit %', values: med('hitPct') },
        { name: 'goodput %', values: med('goodputPct') },
        { name: 'success %', values: med('successPct') },
      ],
      unit: '%',
    }),
  ];

  const headRow = `<tr><th>policy</th>${TABLE_COLUMNS.map((c) => `<th>${esc(HEADLINES[c])}</th>`).join('')}${report.judgement === null ? '' : '<th>losses</th>'}</tr>`;
  const rows = ag
    .map((a) => {
      const cells = TABLE_COLUMNS.map((c) => {
        const s = a.headlines[c];
        const range = s.values.length > 1 && Number.isFinite(s.min) ? `<small>${fmt(s.min)}–${fmt(s.max)}</small>` : '';
        return `<td${verdictAttrs(cellOf(report.judgement, a.policy, -1, c))}>${fmt(s.median)}${range}</td>`;
      }).join('');
      const losses = report.judgement?.counts.find((x) => x.policy === a.policy)?.loss;
      return `<tr><th>${esc(a.policy)}</th>${cells}${losses === undefined ? '' : `<td class="${losses > 0 ? 'loss' : ''}">${losses}</td>`}</tr>`;
    })
    .join('');

  const stageTables = report.runs
    .map((r) => {
      const body = r.stages
        .map((s) => {
          const x = s.summary;
          const name = `${s.name}${s.warmup ? ' (warm-up)' : ''}`;
          // A stage nothing was sent in is "not run", not a row of zeros.
          if (x.requests === 0) return `<tr class="not-run"><th>${esc(name)}</th><td>${fmt(s.rate)}</td><td colspan="13">not run</td></tr>`;
          const cells = [
            name,
            fmt(s.rate),
            String(x.requests),
            fmt(100 * x.successRate),
            fmt(x.ttft?.p50 ?? NaN),
            fmt(x.ttft?.p90 ?? NaN),
            fmt(x.ttft?.p99 ?? NaN),
            fmt(x.tpot?.p50 ?? NaN),
            fmt(x.ntpot?.p90 ?? NaN),
            fmt(x.e2e?.p90 ?? NaN),
            fmt(x.outputTokensPerS),
            fmt(x.prefixHitRate === null ? NaN : 100 * x.prefixHitRate),
            fmt(s.engine?.preemptions ?? NaN),
            fmt(s.engine?.loraLoads ?? NaN),
            fmt(x.imbalance?.cvPromptTokens ?? NaN),
          ];
          return `<tr>${cells.map((c, i) => (i === 0 ? `<th>${esc(c)}</th>` : `<td>${c}</td>`)).join('')}</tr>`;
        })
        .join('');
      return (
        `<details${report.runs.length === 1 ? ' open' : ''}><summary>${esc(r.policy)} · seed ${r.seed} · ${fmt(r.wallMs)} ms wall</summary><div class="table-box"><table>` +
        '<tr><th>stage</th><th>rate/s</th><th>requests</th><th>success %</th><th>TTFT p50</th><th>TTFT p90</th><th>TTFT p99</th>' +
        '<th>TPOT p50</th><th>NTPOT p90</th><th>E2E p90</th><th>out tok/s</th><th>hit %</th><th>preempt</th><th>LoRA loads</th><th>pod CV</th></tr>' +
        `${body}</table></div></details>`
      );
    })
    .join('');

  const breakdowns = report.runs
    .filter((r) => r.breakdowns.byAdapter.length > 0 || r.breakdowns.byTurn.length > 0)
    .map((r) => {
      const rows = [...r.breakdowns.byAdapter, ...r.breakdowns.byTurn]
        .map(
          (b) =>
            `<tr><th>${esc(b.key)}</th><td>${b.requests}</td><td>${fmt(100 * b.successRate)}</td><td>${fmt(b.ttftP50)}</td>` +
            `<td>${fmt(b.ttftP90)}</td><td>${fmt(b.prefixHitRate === null ? NaN : 100 * b.prefixHitRate)}</td></tr>`,
        )
        .join('');
      return (
        `<details><summary>${esc(r.policy)} · seed ${r.seed}: by adapter / turn</summary><div class="table-box"><table>` +
        `<tr><th>slice</th><th>requests</th><th>success %</th><th>TTFT p50</th><th>TTFT p90</th><th>hit %</th></tr>${rows}</table></div></details>`
      );
    })
    .join('');

  const warnings = report.warnings.map((w) => `<p class="warning">warning: ${esc(w)}</p>`).join('\n');
  // One table for every run: policy and seed columns only when there is more than one run.
  const many = report.runs.length > 1;
  const failureRows = report.runs
    .flatMap((r) =>
      r.failures.map(
        (f) =>
          `<tr>${many ? `<th>${esc(r.policy)}</th><td>${r.seed}</td><td class="left">` : '<td class="left">'}${esc(f.error)}</td>` +
          `<td>${f.count}</td><td class="msg">${esc(f.firstMessage ?? '-')}</td></tr>`,
      ),
    )
    .join('');
  const failures =
    failureRows === ''
      ? ''
      : `<div class="table-box"><table class="failures"><tr>${many ? '<th>policy</th><th>seed</th>' : ''}<th class="left">status</th><th>count</th>` +
        `<th class="left">first message</th></tr>${failureRows}</table></div>`;

  const s = report.scenario;
  const slo = Object.entries(report.slo)
    .map(([k, v]) => `${k} ≤ ${v}`)
    .join(', ');
  const meta = [
    s.pods !== null ? `${s.pods} simulated pods (${esc(s.profile ?? '')})` : `target ${esc(report.target ?? '')}`,
    `${s.stages.length} stages`,
    slo === '' ? 'no SLO' : `goodput SLO: ${esc(slo)}`,
    `generated ${esc(report.generatedAt)}`,
  ].join(' · ');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(s.name)} — Switchboard ${report.kind} report</title>
<style>
*,*::before,*::after{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1840px;color:#222;padding:0 24px}
h1{font-size:22px;margin:0 0 4px}p.meta{color:#666;margin:0 0 16px;overflow-wrap:anywhere}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,520px),1fr));gap:12px}
.charts svg{display:block;border:1px solid #eee;border-radius:6px;background:#fff;width:100%;height:auto}
.table-box{max-width:100%;overflow-x:auto;margin:8px 0 16px}.table-box table{margin:0}
p.warning{background:#fff4e5;border-left:4px solid #f0a020;padding:6px 10px;overflow-wrap:anywhere}
table.failures td.msg{text-align:left;white-space:normal;min-width:24em;overflow-wrap:anywhere}.left{text-align:left}
tr.not-run td{color:#888;text-align:left}
.table-box tr>:first-child{position:sticky;left:0;background:#fff}
table{border-collapse:collapse;margin:8px 0 16px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #eee;padding:4px 8px;text-align:right;white-space:nowrap}th:first-child{text-align:left}
td small{display:block;color:#888;font-size:11px}td.loss{background:#fde2e1;color:#a40000;font-weight:600}td.loss::after{content:" ✗"}td.win{background:#e3f4e1}details{margin:6px 0}summary{cursor:pointer;font-weight:600}
</style></head><body>
<h1>${esc(s.name)}</h1>
<p class="meta">${meta}</p>
${s.description !== '' ? `<p>${esc(s.description)}</p>` : ''}
${warnings}
${failures === '' ? '' : `<h2>Failed requests</h2>\n${failures}`}
<div class="charts">${charts.join('\n')}</div>
<h2>Summary (median over seeds; small: min–max)</h2>
<div class="table-box"><table class="summary">${headRow}${rows}</table></div>
${renderVerdicts(report)}
<h2>Per stage, per run</h2>
${stageTables}
${breakdowns === '' ? '' : `<h2>By LoRA adapter and session turn (warm-up excluded)</h2>\n${breakdowns}`}
<p class="meta">TTFT = first token − start; TPOT = (last token − first token)/(output tokens − 1); NTPOT = E2E/output tokens; ITL pooled over tokens; throughput = successful tokens ÷ (last end − first start); prefix hit = Σ cached ÷ Σ prompt tokens; pod CV = coefficient of variation of prompt tokens per pod. * = warm-up stage.</p>
</body></html>
`;
}

function cellOf(j: Judgement | null, policy: string, stage: number, metric: string): JudgedCell | undefined {
  return j?.cells.find((c) => c.policy === policy && c.stage === stage && c.metric === metric);
}

/** `class` and `title` of a judged cell: losses red with a cross, wins green. */
function verdictAttrs(c: JudgedCell | undefined): string {
  if (c === undefined || c.verdict === 'tie') return '';
  return ` class="${c.verdict}" title="${c.verdict} vs ${esc(c.referencePolicy)} ${esc(fmt(c.reference))}"`;
}

/** Verdict counts per policy, the per-stage medians with their verdicts, and every loss. */
function renderVerdicts(report: Report): string {
  const j = report.judgement;
  if (j === null) return '';
  const counts = j.counts.map((c) => `<tr><th>${esc(c.policy)}</th><td class="win">${c.win}</td><td>${c.tie}</td><td class="${c.loss > 0 ? 'loss' : ''}">${c.loss}</td></tr>`).join('');
  const stages = [...new Set(j.cells.filter((c) => c.stage >= 0).map((c) => c.stage))].sort((a, b) => a - b);
  let perStage = '';
  if (stages.length > 0) {
    const head = `<tr><th>policy</th><th>stage</th>${JUDGED_METRICS.map((m) => `<th>${esc(HEADLINES[m])}</th>`).join('')}</tr>`;
    const body = report.aggregates
      .flatMap((a) =>
        stages.map(
          (st) =>
            `<tr><th>${esc(a.policy)}</th><td class="left">${esc(report.scenario.stages[st]?.name ?? String(st))}</td>` +
            JUDGED_METRICS.map((m) => `<td${verdictAttrs(cellOf(j, a.policy, st, m))}>${fmt(a.stageMedians[st][m])}</td>`).join('') +
            '</tr>',
        ),
      )
      .join('');
    perStage = `<h3>Per stage (median over seeds)</h3><div class="table-box"><table class="verdicts-stage">${head}${body}</table></div>`;
  }
  const lost = j.cells.filter((c) => c.verdict === 'loss');
  const lossRows = lost
    .map((c) => `<tr><th>${esc(c.policy)}</th><td class="left">${esc(c.scope)}</td><td class="left">${esc(HEADLINES[c.metric])}</td><td class="loss">${fmt(c.value)}</td><td>${fmt(c.reference)}</td><td class="left">${esc(c.referencePolicy)}</td></tr>`)
    .join('');
  const losses =
    lost.length === 0
      ? '<p>No losses.</p>'
      : `<div class="table-box"><table class="losses"><tr><th>policy</th><th class="left">scope</th><th class="left">metric</th><th>value</th><th>reference</th><th class="left">reference policy</th></tr>${lossRows}</table></div>`;
  return (
    `<h2>Verdicts against ${j.references.map(esc).join(' and ')}</h2><p class="meta">${esc(describeRules())}. ` +
    'Marked cells: red ✗ loss, green win.</p>' +
    `<div class="table-box"><table class="verdicts"><tr><th>policy</th><th>wins</th><th>ties</th><th>losses</th></tr>${counts}</table></div>` +
    `${perStage}<h3>Losses</h3>${losses}`
  );
}
