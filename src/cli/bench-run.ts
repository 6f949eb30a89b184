/** One scenario's runs: every (policy, seed) in virtual time, summarised into a report. */
import { ProgressBar, RunCounter } from '../loadgen/progress.js';
import { buildReport, buildRunReport, type Report, type RunReport } from '../loadgen/report.js';
import { policyFactory } from '../sim/scorecard/policies.js';
import { replicated } from '../sim/scorecard/replicas.js';
import { runScorecard, type KvEventDelivery } from '../sim/scorecard/runner.js';
import type { PickTraceLine } from '../sim/scorecard/pick-trace.js';
import type { Scenario } from '../workload/scenario.js';

/** Runs every (policy, seed) of `scenario` and builds the report; with `onPicks`, traces every run's picks and hands them over. */
export async function benchScenario(
  scenario: Scenario,
  policies: readonly string[],
  seeds: readonly number[],
  progress: ProgressBar | null,
  replicas: readonly number[] = [1],
  kvEvents: Partial<KvEventDelivery> = {},
  counter: RunCounter = new RunCounter(policies.length * replicas.length * seeds.length),
  onPicks: ((policy: string, seed: number, lines: PickTraceLine[]) => void) | null = null,
): Promise<Report> {
  const factories = policies.flatMap((p) => replicas.map((n) => [n === 1 ? p : `${p}×${n}`, replicated(policyFactory(p), n)] as const));
  const runs: RunReport[] = [];
  for (const seed of seeds) {
    for (const [name, factory] of factories) {
      const label = `${counter.label()} · ${scenario.name} · ${name} · seed ${seed}`;
      const t0 = performance.now();
      const run = await runScorecard(scenario, factory, {
        seed,
        kvEvents,
        tracePicks: onPicks !== null,
        onProgress: progress === null ? undefined : (f) => progress.update(label, f, counter.eta(f)),
      });
      const wallMs = performance.now() - t0;
      if (onPicks !== null && run.picks !== undefined) onPicks(name, seed, run.picks);
      counter.finish();
      progress?.done(label, `${run.records.length} requests, ${(wallMs / 1000).toFixed(1)} s, ${counter.eta()}`);
      runs.push(buildRunReport(scenario, name, seed, run.records, run.stageCounters, scenario.fleet.pods, wallMs));
    }
  }
  return buildReport('bench', scenario, runs, null, true);
}

