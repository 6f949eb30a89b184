/**
 * A trace as a scenario's workload: its arrivals replace the scenario's stages, its lengths,
 * prefix groups, adapters and tenants replace the sampled ones. The rest of the scenario (fleet,
 * SLOs, policies, API) stays, so `bench` and `load` run a trace exactly as they run a scenario.
 */
import { planArrivals, type Arrival } from './arrivals.js';
import { Rng } from '../util/random.js';
import { buildScenario, type Scenario } from './scenario.js';
import { traceSpanMs, type ScenarioTrace, type Trace } from './trace.js';

/** `scenario` with its workload and arrivals taken from `trace`. */
export function withTrace(scenario: Scenario, trace: Trace, speed = 1): Scenario {
  const spanS = traceSpanMs(trace) / speed / 1000;
  // One stage over the whole trace; the millisecond keeps the last arrival inside it.
  const duration = spanS + 0.001;
  const adapters = traceAdapters(trace);
  return {
    ...scenario,
    arrivals: { ...scenario.arrivals, stages: [{ name: 'trace', rate: trace.records.length / duration, duration, warmup: false }] },
    maxRequests: Math.max(scenario.maxRequests, trace.records.length),
    workload: {
      ...scenario.workload,
      sessions: null,
      sharedPrefix: null,
      // Simulated pods register these adapters; `load` checks them against /v1/models.
      lora: adapters.length === 0 ? null : { adapters, weights: adapters.map(() => 1), baseFraction: 0 },
    },
    trace: { trace, speed },
  };
}

/** A scenario around a trace alone (no scenario file): default fleet, completions API. */
export function traceScenario(trace: Trace, speed = 1, name = 'trace'): Scenario {
  const base = buildScenario({
    name,
    description: `replay of ${trace.source} (${trace.records.length} requests)`,
    workload: { input: 1, output: 1 },
    arrivals: { stages: [{ rate: 1, duration: 1 }] },
  });
  return withTrace(base, trace, speed);
}

/** The trace's arrivals, at most `max`. */
export function traceArrivals(t: ScenarioTrace, max: number): Arrival[] {
  const n = Math.min(max, t.trace.records.length);
  const out: Arrival[] = new Array<Arrival>(n);
  for (let i = 0; i < n; i++) out[i] = { at: t.trace.records[i].offsetMs / t.speed, stage: 0, index: i };
  return out;
}

/** Adapter names a trace sends to (its `adapter` fields; a recorded `model` is informational). */
export function traceAdapters(trace: Trace): string[] {
  const out = new Set<string>();
  for (const r of trace.records) if (r.adapter !== null) out.add(r.adapter);
  return [...out];
}

/** A scenario's arrivals: its trace's when it has one, else drawn from its stages. */
export function scenarioArrivals(sc: Scenario, max: number): Arrival[] {
  if (sc.trace !== undefined && sc.trace !== null) return traceArrivals(sc.trace, max);
  return planArrivals(sc.arrivals, new Rng(sc.seed).fork('arrivals'), max);
}
