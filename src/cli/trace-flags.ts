/** `--scenario` and `--trace` of `load` and `bench`: the scenario to run, with the trace replayed in it. */
import { basename, extname } from 'node:path';
import { loadScenario, type Scenario } from '../workload/scenario.js';
import { loadTrace } from '../workload/trace.js';
import { traceScenario, withTrace } from '../workload/trace-scenario.js';

/** The scenario file (or '' for none) with the trace file (or null) replayed `speed`× in it. */
export function scenarioWithTrace(scenarioFile: string, traceFile: string | null, speed: number): Scenario {
  const trace = traceFile === null ? null : loadTrace(traceFile);
  if (scenarioFile === '') return traceScenario(trace as NonNullable<typeof trace>, speed, basename(traceFile as string, extname(traceFile as string)));
  const scenario = loadScenario(scenarioFile);
  return trace === null ? scenario : withTrace(scenario, trace, speed);
}
