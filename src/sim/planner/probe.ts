/**
 * One planner probe: the scenario at `factor` times its arrival rate on `pods` simulated pods,
 * judged against the SLO, with the pool gauges an HPA would read (`inference_pool_average_queue_size`,
 * `inference_pool_average_kv_cache_utilization`) averaged over the measured window.
 */
import type { RequestRecord } from '../../workload/metrics.js';
import type { Scenario } from '../../workload/scenario.js';
import type { EngineState } from '../engine/engine.js';
import type { Router, RouterFactory } from '../scorecard/router.js';
import { runScorecard } from '../scorecard/runner.js';
import { judgeSlo, type SloSpec } from './slo-spec.js';

/** What one probe measured. */
export interface ProbeResult {
  policy: string;
  pods: number;
  /** Multiple of the scenario's arrival rate. */
  factor: number;
  /** Measured arrivals per second per pod (requests issued in the measured window). */
  ratePerPod: number;
  seed: number;
  pass: boolean;
  /** Per SLO target, the measured quantile, ms. */
  values: number[];
  successRate: number;
  requests: number;
  /** Pool means over the measured window, as the EPP exports them. */
  avgQueue: number;
  avgKv: number;
  /** Wall-clock time of the probe, ms. */
  wallMs: number;
}

/** `scenario` with every stage's rate (or the trace's speed) multiplied by `factor`, on `pods` pods. */
export function scaledScenario(scenario: Scenario, factor: number, pods: number): Scenario {
  const t = scenario.trace;
  const stages = scenario.arrivals.stages.map((s) => (t ? { ...s, duration: s.duration / factor, rate: s.rate * factor } : { ...s, rate: s.rate * factor }));
  // A mixed fleet (`fleet.mix`, with its pools) grows and shrinks by repeating its pods' pattern.
  const base = scenario.fleet.podProfiles;
  const podProfiles = Array.from({ length: pods }, (_, i) => (base.length > 0 ? base[i % base.length] : scenario.fleet.profile));
  const pools = scenario.fleet.podPools;
  const podPools = pools === undefined || pools.length === 0 ? undefined : Array.from({ length: pods }, (_, i) => pools[i % pools.length]);
  return {
    ...scenario,
    fleet: { ...scenario.fleet, pods, podProfiles, ...(podPools === undefined ? {} : { podPools }) },
    arrivals: { ...scenario.arrivals, stages },
    ...(t ? { trace: { trace: t.trace, speed: t.speed * factor } } : {}),
  };
}

/** Time windows (ms) of the scenario's measured (non-warm-up) stages. */
export function measuredWindows(scenario: Scenario): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let at = 0;
  for (const s of scenario.arrivals.stages) {
    const end = at + s.duration * 1000;
    if (!s.warmup) out.push([at, end]);
    at = end;
  }
  return out;
}

/** Wraps a router factory so every scrape also feeds the pool gauges inside `windows`. */
function sampling(factory: RouterFactory, windows: ReadonlyArray<[number, number]>, acc: { queue: number; kv: number; n: number }): RouterFactory {
  const inside = (now: number): boolean => windows.some(([a, b]) => now >= a && now < b);
  return async (ctx) => {
    const inner: Router = await factory(ctx);
    return {
      name: inner.name,
      route: (i) => inner.route(i),
      onScrapeStarted: inner.onScrapeStarted?.bind(inner),
      close: inner.close?.bind(inner),
      onScrape(pod: number, state: EngineState, now: number): void {
        // Each scrape round visits every pod once, so the mean over all samples is the time mean
        // of the pool average.
        if (inside(now)) {
          acc.queue += state.waiting;
          acc.kv += state.kvUsage;
          acc.n++;
        }
        inner.onScrape?.(pod, state, now);
      },
    };
  };
}

/** Runs one probe. */
export async function runProbe(
  scenario: Scenario,
  policy: string,
  factory: RouterFactory,
  slo: SloSpec,
  pods: number,
  factor: number,
  seed: number,
): Promise<ProbeResult> {
  const sc = scaledScenario(scenario, factor, pods);
  const windows = measuredWindows(sc);
  const acc = { queue: 0, kv: 0, n: 0 };
  const t0 = performance.now();
  const run = await runScorecard(sc, sampling(factory, windows, acc), { seed });
  const wallMs = performance.now() - t0;
  const measured: RequestRecord[] = run.records.filter((r) => r.stage >= 0 && sc.arrivals.stages[r.stage]?.warmup !== true);
  const verdict = judgeSlo(measured, slo);
  const windowS = windows.reduce((s, [a, b]) => s + (b - a), 0) / 1000;
  return {
    policy,
    pods,
    factor,
    ratePerPod: windowS > 0 ? measured.length / windowS / pods : 0,
    seed,
    pass: verdict.pass,
    values: verdict.values,
    successRate: verdict.successRate,
    requests: verdict.requests,
    avgQueue: acc.n > 0 ? acc.queue / acc.n : 0,
    avgKv: acc.n > 0 ? acc.kv / acc.n : 0,
    wallMs,
  };
}
