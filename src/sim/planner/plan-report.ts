/**
 * The planner's report: plan.json (every probe) and a self-contained plan.html (inline SVG, no
 * scripts or network) with the latency-vs-load curve of every SLO target per policy, the fleet
 * search, the recommendation and the HPA manifest.
 */
import type { HpaRecommendation } from './hpa.js';
import type { ProbeResult } from './probe.js';
import type { PolicyPlan, SweepResult } from './search.js';
import type { SloSpec } from './slo-spec.js';

/** Everything one `switchboard plan` run found. */
export interface PlanReport {
  scenario: { name: string; description: string; profile: string; pods: number; ratePerS: number };
  slo: SloSpec;
  maxPods: number;
  tolerance: number;
  seed: number;
  confirmSeeds: number[];
  plans: PolicyPlan[];
  /** The policy whose HPA is written, or null when none met the SLO. */
  recommended: HpaRecommendation | null;
  manifest: string | null;
  /** Brute-force sweeps (`--brute-force`), for the agreement check. */
  sweeps: SweepResult[];
  wallMs: number;
  generatedAt: string;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function n(x: number | null, digits = 2): string {
  return x === null || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

/** One latency-vs-load chart (x: requests/s per pod, y: the target's quantile in ms). */
function curve(report: PlanReport, target: number): string {
  const t = report.slo.targets[target];
  const W = 640;
  const H = 300;
  const L = 64;
  const R = 16;
  const T = 24;
  const B = 40;
  const series = report.plans.map((p, i) => {
    const pods = p.pods ?? report.maxPods;
    const pts = p.probes.filter((x) => x.pods === pods && x.seed === report.seed && Number.isFinite(x.values[target])).sort((a, b) => a.ratePerPod - b.ratePerPod);
    return { name: p.policy, color: COLORS[i % COLORS.length], pts };
  });
  const all = series.flatMap((s) => s.pts);
  if (all.length === 0) return `<p>No measurements for ${esc(t.label)}.</p>`;
  const xMax = Math.max(...all.map((p) => p.ratePerPod)) * 1.05 || 1;
  // Latencies beyond a few times the limit flatten everything else: clip the axis there.
  const yMax = Math.min(Math.max(...all.map((p) => p.values[target]), t.limitMs) * 1.1, t.limitMs * 4);
  const x = (v: number): number => L + (v / xMax) * (W - L - R);
  const y = (v: number): number => T + (1 - Math.min(v, yMax) / yMax) * (H - T - B);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  let svg = `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(t.label)} vs load per pod">`;
  for (const f of ticks) {
    svg += `<line x1="${L}" x2="${W - R}" y1="${y(f * yMax)}" y2="${y(f * yMax)}" stroke="#eee"/>`;
    svg += `<text x="${L - 6}" y="${y(f * yMax) + 4}" text-anchor="end" font-size="11">${(f * yMax).toFixed(0)}</text>`;
    svg += `<text x="${x(f * xMax)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${(f * xMax).toFixed(2)}</text>`;
  }
  svg += `<line x1="${L}" x2="${W - R}" y1="${y(t.limitMs)}" y2="${y(t.limitMs)}" stroke="#000" stroke-dasharray="6 4"/>`;
  svg += `<text x="${W - R}" y="${y(t.limitMs) - 4}" text-anchor="end" font-size="11">SLO ${esc(t.label)} ≤ ${t.limitMs} ms</text>`;
  svg += `<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" font-size="12">requests/s per pod</text>`;
  svg += `<text x="14" y="${(T + H - B) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${(T + H - B) / 2})">${esc(t.label)} (ms)</text>`;
  for (const s of series) {
    if (s.pts.length > 1) svg += `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.pts.map((p) => `${x(p.ratePerPod).toFixed(1)},${y(p.values[target]).toFixed(1)}`).join(' ')}"/>`;
    for (const p of s.pts) {
      svg += `<circle cx="${x(p.ratePerPod).toFixed(1)}" cy="${y(p.values[target]).toFixed(1)}" r="4" fill="${p.pass ? s.color : '#fff'}" stroke="${s.color}" stroke-width="2"><title>${esc(s.name)}: ${p.ratePerPod.toFixed(3)} req/s/pod, ${esc(t.label)} ${p.values[target].toFixed(1)} ms, ${p.pass ? 'meets' : 'misses'} the SLO</title></circle>`;
    }
  }
  svg += '</svg>';
  const legend = series.map((s) => `<span style="color:${s.color}">● ${esc(s.name)}</span>`).join(' &nbsp; ');
  return `${svg}<div class="legend">${legend} &nbsp; (filled: meets the SLO, hollow: misses)</div>`;
}

function probeRows(probes: readonly ProbeResult[]): string {
  return probes
    .map(
      (p) =>
        `<tr><td>${p.pods}</td><td>${p.factor}</td><td>${p.seed}</td><td>${p.ratePerPod.toFixed(3)}</td>${p.values.map((v) => `<td>${n(v, 1)}</td>`).join('')}<td>${(p.successRate * 100).toFixed(1)}%</td><td>${p.avgQueue.toFixed(2)}</td><td>${p.avgKv.toFixed(3)}</td><td class="${p.pass ? 'ok' : 'bad'}">${p.pass ? 'meets' : 'misses'}</td><td>${(p.wallMs / 1000).toFixed(2)}</td></tr>`,
    )
    .join('');
}

/** The self-contained HTML report. */
export function renderPlanHtml(r: PlanReport): string {
  const head = r.slo.targets.map((t) => `<th>${esc(t.label)} (ms)</th>`).join('');
  const summary = r.plans
    .map(
      (p) =>
        `<tr><td>${esc(p.policy)}</td><td>${p.pods ?? `&gt; ${r.maxPods}`}${p.podsConfirmed ? '' : ' (unconfirmed)'}</td><td>${n(p.maxFactor, 3)}${p.bounded ? '' : '+'}${p.factorConfirmed ? '' : ' (unconfirmed)'}</td><td>${n(p.maxRatePerPod, 3)}</td><td>${n(p.queueAtBoundary)}</td><td>${n(p.kvAtBoundary, 3)}</td><td>${p.probes.length}</td><td>${(p.wallMs / 1000).toFixed(1)}</td></tr>`,
    )
    .join('');
  const sweeps =
    r.sweeps.length === 0
      ? ''
      : `<h2>Brute-force check</h2><p>Search seed only in the sweep; "confirmed" adds the confirmation seeds. The sweep's loads run on the plan's fleet.</p><table><tr><th>policy</th><th>pods: bisection / confirmed / sweep</th><th>max load ×: bisection / confirmed / sweep</th><th>probes: plan / sweep</th><th>wall s: plan / sweep</th></tr>${r.sweeps
          .map((s) => {
            const p = r.plans.find((x) => x.policy === s.policy);
            return `<tr><td>${esc(s.policy)}</td><td>${p?.searchedPods ?? '–'} / ${p?.pods ?? '–'} / ${s.pods ?? '–'}</td><td>${n(p?.searchedFactor ?? null, 3)} / ${n(p?.maxFactor ?? null, 3)} / ${n(s.maxFactor, 3)} (on ${s.loadPods} pods)</td><td>${p?.probes.length ?? '–'} / ${s.probes.length}</td><td>${n((p?.wallMs ?? NaN) / 1000, 1)} / ${n(s.wallMs / 1000, 1)}</td></tr>`;
          })
          .join('')}</table>`;
  const rec = r.recommended;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>switchboard plan · ${esc(r.scenario.name)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}.ok{color:#070}.bad{color:#b00}pre{background:#f7f7f7;padding:12px;overflow:auto}
.legend{font-size:12px;margin:4px 0 20px}details{margin:8px 0}
</style></head><body>
<h1>Capacity plan: ${esc(r.scenario.name)}</h1>
<p>${esc(r.scenario.description)}</p>
<p>Profile <b>${esc(r.scenario.profile)}</b>; scenario load ${r.scenario.ratePerS.toFixed(2)} requests/s (measured stages); SLO <b>${esc(r.slo.text)}</b>;
at most ${r.maxPods} pods; load bisection to ${(r.tolerance * 100).toFixed(0)}%; search seed ${r.seed}, confirmed with seed${r.confirmSeeds.length === 1 ? '' : 's'} ${r.confirmSeeds.join(', ') || 'none'};
${(r.wallMs / 1000).toFixed(1)} s in all. Generated ${esc(r.generatedAt)}.</p>
<h2>Per policy</h2>
<table><tr><th>policy</th><th>smallest fleet</th><th>max load (× scenario)</th><th>max req/s per pod</th><th>avg queue at boundary</th><th>avg KV at boundary</th><th>probes</th><th>wall s</th></tr>${summary}</table>
${sweeps}
<h2>Recommendation</h2>
${
  rec === null
    ? '<p>No policy met the SLO within the fleet limit.</p>'
    : `<p>Policy <b>${esc(rec.policy)}</b>: ${rec.minReplicas} pods at the scenario's load; scale on
${rec.queueTarget === null ? '' : `<code>inference_pool_average_queue_size</code> target ${rec.queueTarget}`}${rec.queueTarget !== null && rec.kvTarget !== null ? ' and ' : ''}${
        rec.kvTarget === null ? '' : `<code>inference_pool_average_kv_cache_utilization</code> target ${rec.kvTarget}`
      } (${Math.round(rec.headroom * 100)}% below the levels at the SLO boundary).</p>
${rec.notes.map((x) => `<p>Note: ${esc(x)}.</p>`).join('')}
${r.manifest === null ? '<p>No HPA manifest: no gauge rises before the SLO breaks.</p>' : '<p>The HPA manifest (hpa.yaml) is below the curves.</p>'}`
}
<h2>Latency vs load per pod</h2>
<p>Probes on each policy's smallest fleet, search seed. The dashed line is the SLO limit.</p>
${r.slo.targets.map((_, i) => curve(r, i)).join('\n')}
${r.manifest === null ? '' : `<h2>HPA manifest</h2><pre>${esc(r.manifest)}</pre>`}
<h2>Every probe</h2>
${r.plans.map((p) => `<details><summary>${esc(p.policy)}: ${p.probes.length} probes</summary><table><tr><th>pods</th><th>load ×</th><th>seed</th><th>req/s/pod</th>${head}<th>success</th><th>avg queue</th><th>avg KV</th><th>SLO</th><th>wall s</th></tr>${probeRows(p.probes)}</table></details>`).join('\n')}
</body></html>
`;
}
