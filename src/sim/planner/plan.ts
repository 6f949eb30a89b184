/**
 * `switchboard plan`'s core: for each policy, the smallest fleet and the highest load per pod
 * that meet the SLO (search.ts), the HPA recommendation for the best policy (hpa.ts), and,
 * on request, the brute-force sweep the searches are checked against.
 */
import type { Scenario } from '../../workload/scenario.js';
import { policyFactory } from '../scorecard/policies.js';
import { hpaManifest, recommendHpa, type HpaFlavor } from './hpa.js';
import { measuredWindows, type ProbeResult } from './probe.js';
import type { PlanReport } from './plan-report.js';
import { planPolicy, sweep, type PolicyPlan, type SearchOptions, type SweepResult } from './search.js';
import type { SloSpec } from './slo-spec.js';

export interface PlanOptions {
  slo: SloSpec;
  policies: string[];
  maxPods: number;
  tolerance: number;
  seed: number;
  confirmSeeds: number[];
  maxFactor: number;
  headroom: number;
  pool: string;
  deployment: string;
  flavor: HpaFlavor;
  /** Also run the brute-force sweep per policy. */
  bruteForce: boolean;
  onProbe?: (p: ProbeResult) => void;
}

/** The policy to deploy: fewest pods, then most load per pod. */
export function bestPlan(plans: readonly PolicyPlan[]): PolicyPlan | null {
  let best: PolicyPlan | null = null;
  for (const p of plans) {
    if (p.pods === null || p.maxRatePerPod === null) continue;
    if (best === null || p.pods < (best.pods as number) || (p.pods === best.pods && p.maxRatePerPod > (best.maxRatePerPod as number))) best = p;
  }
  return best;
}

/** Measured arrivals per second of the scenario at its own rates. */
export function scenarioRate(sc: Scenario): number {
  if (sc.trace) {
    const st = sc.arrivals.stages[0];
    return st.rate;
  }
  let reqs = 0;
  let secs = 0;
  for (const s of sc.arrivals.stages) {
    if (s.warmup) continue;
    reqs += s.rate * s.duration;
    secs += s.duration;
  }
  return secs > 0 ? reqs / secs : 0;
}

/** Runs the plan. */
export async function runPlan(scenario: Scenario, o: PlanOptions): Promise<PlanReport> {
  const t0 = performance.now();
  if (measuredWindows(scenario).length === 0) throw new Error('scenario has no measured stage');
  const search: SearchOptions = {
    slo: o.slo,
    maxPods: o.maxPods,
    tolerance: o.tolerance,
    seed: o.seed,
    confirmSeeds: o.confirmSeeds,
    maxFactor: o.maxFactor,
    onProbe: o.onProbe,
  };
  const plans: PolicyPlan[] = [];
  const sweeps: SweepResult[] = [];
  for (const policy of o.policies) {
    const factory = policyFactory(policy);
    const plan = await planPolicy(scenario, policy, factory, search);
    plans.push(plan);
    if (o.bruteForce) sweeps.push(await sweep(scenario, policy, factory, search, plan.pods ?? o.maxPods));
  }
  const best = bestPlan(plans);
  const recommended = best === null ? null : recommendHpa(best, o.headroom, o.maxPods);
  const manifest =
    recommended === null
      ? null
      : hpaManifest(recommended, { pool: o.pool, deployment: o.deployment, flavor: o.flavor, scenario: scenario.name, slo: o.slo.text });
  return {
    scenario: { name: scenario.name, description: scenario.description, profile: scenario.fleet.profile.name, pods: scenario.fleet.pods, ratePerS: scenarioRate(scenario) },
    slo: o.slo,
    maxPods: o.maxPods,
    tolerance: o.tolerance,
    seed: o.seed,
    confirmSeeds: o.confirmSeeds,
    plans,
    recommended,
    manifest,
    sweeps,
    wallMs: performance.now() - t0,
    generatedAt: new Date().toISOString(),
  };
}
