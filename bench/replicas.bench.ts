/**
 * Routing quality with several picker replicas (active-active HA): each scenario runs with
 * `switchboard` (the default config, whose prefix index is per replica) and `active-active`
 * (bench/configs/active-active.yaml: plus prefix-rendezvous-scorer) on 1, 2 and 4 independent
 * Switchboard cores, requests spread over them round-robin as a Service would. Writes
 * bench/results/replicas.json and the bench/RESULTS.md section.
 *
 *   npm run bench:replicas [-- bench/scenarios/x.yaml ...] [-- --seeds 1,2,3]
 */
import { basename, extname, join } from 'node:path';
import { benchScenario } from '../src/cli/bench.js';
import { loadConfigFile } from '../src/config/load.js';
import { ProgressBar } from '../src/loadgen/progress.js';
import type { Headline, Report } from '../src/loadgen/report.js';
import { loadScenario } from '../src/workload/scenario.js';
import { fmt } from '../src/loadgen/table.js';
import { configPolicy } from '../src/sim/scorecard/director-router.js';
import { registerPolicy } from '../src/sim/scorecard/policies.js';
import { loadNote, machine, scenarioArgs, writeJson, writeResultsSection } from './lib/stats.js';

const SCENARIOS = ['shared-prefix-kv-pressure', 'multi-turn-sessions', 'multi-lora-zipf', 'mixed-lengths-bursts'];
const REPLICAS = [1, 2, 4];
const POLICIES = ['switchboard', 'active-active'];
const COLUMNS: Headline[] = ['goodputPct', 'hitPct', 'ttftP50', 'ttftP90', 'outputTps', 'preemptions', 'loraLoads'];

const INTRO = `## Active-active replicas (\`npm run bench:replicas\`)

${loadNote()} (the routing numbers are virtual
time and do not depend on the machine). Each run puts N independent Switchboard cores (own
pool, prefix index, in-flight counts) behind a round-robin "Service"; every core hears every
metrics scrape, as each real replica scrapes every pod. \`switchboard\` is the default config;
\`active-active\` adds \`prefix-rendezvous-scorer\` (weight 1; \`bench/configs/active-active.yaml\`).
Cells are medians over the seeds with (min–max), warm-up excluded; \`Δ vs ×1\` compares each
policy's goodput and prefix-hit medians with the single-replica \`switchboard\` run.
`;

function cell(report: Report, policy: string, h: Headline): string {
  const a = report.aggregates.find((x) => x.policy === policy);
  const s = a?.headlines[h];
  if (s === undefined || Number.isNaN(s.median)) return '-';
  return s.values.length > 1 ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const { files, seeds } = scenarioArgs(args);
  if (files.length === 0) files.push(...SCENARIOS.map((s) => join('bench', 'scenarios', `${s}.yaml`)));
  const aa = loadConfigFile(join('bench', 'configs', 'active-active.yaml'));
  registerPolicy('active-active', configPolicy('active-active', () => aa));
  const bar = new ProgressBar();
  const results: Record<string, unknown> = {};
  let md = '';
  for (const file of files) {
    const scenario = loadScenario(file);
    const t0 = performance.now();
    const report = await benchScenario(scenario, POLICIES, seeds, bar, REPLICAS);
    const wallMs = performance.now() - t0;
    const med = (p: string, h: Headline) => report.aggregates.find((a) => a.policy === p)?.headlines[h].median ?? NaN;
    results[scenario.name] = { wallMs, seeds, policies: Object.fromEntries(report.aggregates.map((a) => [a.policy, a.headlines])) };
    md += `### ${scenario.name}\n\nSeeds ${seeds.join(', ')}; ${fmt(wallMs / 1000)} s wall for all runs.\n\n`;
    md += `| policy | replicas | ${COLUMNS.join(' | ')} | Δ goodput vs ×1 | Δ hit vs ×1 |\n|---|---:|${COLUMNS.map(() => '---:').join('|')}|---:|---:|\n`;
    for (const p of POLICIES)
      for (const n of REPLICAS) {
        const name = n === 1 ? p : `${p}×${n}`;
        const dg = med(name, 'goodputPct') - med('switchboard', 'goodputPct');
        const dh = med(name, 'hitPct') - med('switchboard', 'hitPct');
        md += `| ${p} | ${n} | ${COLUMNS.map((c) => cell(report, name, c)).join(' | ')} | ${Number.isNaN(dg) ? '-' : fmt(dg)} | ${Number.isNaN(dh) ? '-' : fmt(dh)} |\n`;
      }
    md += '\n';
  }
  const command = `npm run bench:replicas${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
  const date = new Date().toISOString();
  writeJson(
    join('bench', 'results', 'replicas.json'),
    JSON.parse(JSON.stringify({ command, date, machine: machine(), preliminary: true, scenarios: results }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))),
  );
  if (files.length === SCENARIOS.length && files.every((f, i) => basename(f, extname(f)) === SCENARIOS[i]))
    writeResultsSection(join('bench', 'RESULTS.md'), 'replicas', `${INTRO}\nMachine: ${machine()}. Run: ${date.slice(0, 10)}. Command: \`${command}\`.\n\n${md}`);
  process.stdout.write(`\n${md}wrote bench/results/replicas.json\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
