/**
 * Several pools in virtual time: the heterogeneous-surge scenario (L4 pods preferred, A100-40GB
 * pods behind them, load surging to about twice the L4 pool's capacity) with the spillover
 * policy against (a) the L4 pool alone, (b) round-robin over both pools, (c) one flat pool with
 * the default profile. Goodput, TTFT p90/p99 and the share of requests served in the preferred
 * pool, over the measured stages and over the surge alone; medians over the seeds with (min–max).
 * Writes bench/results/pools.json and the bench/RESULTS.md section (under bench/out/ unless
 * --publish).
 *
 *   npm run bench:pools [-- --seeds 1,2,3,4,5] [-- --publish]
 */
import { join } from 'node:path';
import { ProgressBar } from '../src/loadgen/progress.js';
import { policyFactory, registerConfigPolicy } from '../src/sim/scorecard/policies.js';
import { runScorecard } from '../src/sim/scorecard/runner.js';
import { summarize, type RequestRecord } from '../src/workload/metrics.js';
import { loadScenario, podPools } from '../src/workload/scenario.js';
import { loadNote, machine, median, scenarioArgs, writeJson, writeResultsSection } from './lib/stats.js';

const SCENARIO = join('bench', 'scenarios', 'heterogeneous-surge.yaml');
const POLICIES = ['spillover', 'primary-only', 'round-robin', 'switchboard'] as const;
const LABEL: Record<string, string> = {
  spillover: 'spillover (L4 preferred, A100 on saturation)',
  'primary-only': '(a) L4 pool only',
  'round-robin': '(b) round-robin over both pools',
  switchboard: '(c) one flat pool, default profile',
};

interface Measures {
  goodputPerS: number;
  goodputPct: number;
  ttftP90: number;
  ttftP99: number;
  success: number;
  preferredShare: number;
  /** Requests answered 429 (shed), as a share of all. */
  shed: number;
}

function measures(records: readonly RequestRecord[], preferred: ReadonlySet<number>, slo: Parameters<typeof summarize>[1]): Measures {
  const s = summarize(records, slo);
  const ok = records.filter((r) => r.ok);
  return {
    goodputPerS: s.goodput?.requestsPerS ?? 0,
    goodputPct: s.goodput?.percent ?? 0,
    ttftP90: s.ttft?.p90 ?? NaN,
    ttftP99: s.ttft?.p99 ?? NaN,
    success: s.successRate,
    preferredShare: ok.length === 0 ? 0 : ok.filter((r) => preferred.has(r.pod)).length / ok.length,
    shed: records.length === 0 ? 0 : records.filter((r) => r.error === 'http_429' || r.error === 'reject_429').length / records.length,
  };
}

async function main(): Promise<void> {
  const { seeds } = scenarioArgs(process.argv.slice(2), [1, 2, 3, 4, 5]);
  const scenario = loadScenario(SCENARIO);
  for (const c of scenario.configs) registerConfigPolicy(c.name, c.path);
  const pools = podPools(scenario.fleet) ?? [];
  const preferredName = pools[0];
  const preferred = new Set(pools.flatMap((p, i) => (p === preferredName ? [i] : [])));
  const measured = scenario.arrivals.stages.flatMap((st, i) => (st.warmup ? [] : [i]));
  const surge = scenario.arrivals.stages.findIndex((st) => st.name === 'surge');
  const progress = new ProgressBar();
  const rows: Record<string, { all: Measures[]; surge: Measures[] }> = {};
  for (const seed of seeds) {
    for (const policy of POLICIES) {
      const label = `${policy} · seed ${seed}`;
      const run = await runScorecard(scenario, policyFactory(policy), { seed, onProgress: (f) => progress.update(label, f) });
      progress.done(label, `${run.records.length} requests`);
      const row = (rows[policy] ??= { all: [], surge: [] });
      row.all.push(measures(run.records.filter((r) => measured.includes(r.stage)), preferred, scenario.slo));
      row.surge.push(measures(run.records.filter((r) => r.stage === surge), preferred, scenario.slo));
    }
  }
  const cell = (xs: number[], f: (x: number) => string) => {
    const m = median(xs);
    return `${f(m)} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
  };
  const ms = (x: number) => x.toFixed(0);
  const pct = (x: number) => (100 * x).toFixed(1);
  const rps = (x: number) => x.toFixed(2);
  const table = (which: 'all' | 'surge') =>
    [
      '| policy | goodput req/s | goodput % | TTFT p90 ms | TTFT p99 ms | success % | shed % | served in L4 pool % |',
      '|---|---|---|---|---|---|---|---|',
      ...POLICIES.map((p) => {
        const m = rows[p][which];
        return `| ${LABEL[p]} | ${cell(m.map((x) => x.goodputPerS), rps)} | ${cell(m.map((x) => x.goodputPct / 100), pct)} | ${cell(m.map((x) => x.ttftP90), ms)} | ${cell(m.map((x) => x.ttftP99), ms)} | ${cell(m.map((x) => x.success), pct)} | ${cell(m.map((x) => x.shed), pct)} | ${cell(m.map((x) => x.preferredShare), pct)} |`;
      }),
    ].join('\n');
  const med = (p: string, which: 'all' | 'surge', f: (m: Measures) => number) => median(rows[p][which].map(f));
  const reading = `Reading (medians): spillover keeps ${pct(med('spillover', 'all', (m) => m.preferredShare))}% of the served requests in the L4 pool
(${pct(med('spillover', 'surge', (m) => m.preferredShare))}% during the surge) at ${pct(med('spillover', 'all', (m) => m.goodputPct / 100))}% goodput and TTFT p90 ${ms(med('spillover', 'all', (m) => m.ttftP90))} ms;
the L4 pool alone falls to ${pct(med('primary-only', 'all', (m) => m.goodputPct / 100))}% goodput (TTFT p90 ${ms(med('primary-only', 'all', (m) => m.ttftP90))} ms); round-robin over both pools
reaches ${pct(med('round-robin', 'all', (m) => m.goodputPct / 100))}% (TTFT p90 ${ms(med('round-robin', 'all', (m) => m.ttftP90))} ms) with a fixed ${pct(med('round-robin', 'all', (m) => m.preferredShare))}% in L4; one flat pool has the
lowest TTFT (p90 ${ms(med('switchboard', 'all', (m) => m.ttftP90))} ms) because it sends most work to the faster, costlier A100s: only
${pct(med('switchboard', 'all', (m) => m.preferredShare))}% stays in the L4 pool. Spillover's shed share is batch refused in the saturated L4 pool
(its policy allows no spill), which is the point of that policy, not a loss.`;
  const stages = scenario.arrivals.stages.map((s) => `${s.name} ${s.rate}/s × ${s.duration} s`).join(', ');
  const fleet = [...new Set(pools)].map((name) => `pool \`${name}\`: ${pools.filter((p) => p === name).length} × \`${scenario.fleet.podProfiles[pools.indexOf(name)].name}\``).join(', ');
  const markdown = `## Several pools: spillover on a heterogeneous fleet (\`npm run bench:pools\`)

${loadNote()}. Virtual time; ${seeds.length} seeds (${seeds.join(', ')}); medians with (min–max).

- Scenario \`bench/scenarios/heterogeneous-surge.yaml\`: ${fleet}; stages ${stages}; tenants premium
  (20%, may spill), standard (60%, may spill), batch (20%, sheddable, may not spill); SLO TTFT ≤ ${scenario.slo.ttftMs} ms.
- \`spillover\` = \`bench/scenarios/configs/spillover.yaml\` (two pools, default profile in each, default
  hysteresis 1 / 0.8); (a) = \`configs/primary-only.yaml\`; (b) = round-robin over all pods; (c) =
  \`switchboard serve\`'s default config over all pods as one pool.
- Goodput: requests meeting the SLO per second over the stage(s); shed = answered 429.

Measured stages (steady, surge, after):

${table('all')}

Surge stage only:

${table('surge')}

${reading}
`;
  writeJson(join('bench', 'results', 'pools.json'), { machine: machine(), scenario: scenario.name, seeds, rows });
  writeResultsSection(join('bench', 'RESULTS.md'), 'pools', markdown);
  process.stdout.write(markdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
