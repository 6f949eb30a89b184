/**
 * A worker thread of `switchboard bench --generate --jobs N`: runs (scenario file, policy, seed)
 * jobs in virtual time and sends back each run's report. Virtual runs are CPU-bound and share
 * nothing, so N workers use N cores (and N shares of a busy machine).
 */
import { parentPort } from 'node:worker_threads';
import { buildRunReport } from '../loadgen/report.js';
import { policyFactory, registerConfigPolicy } from '../sim/scorecard/policies.js';
import { runScorecard } from '../sim/scorecard/runner.js';
import { keepRun } from '../sim/scorecard/pick-trace.js';
import { loadScenario, type Scenario } from '../workload/scenario.js';
import type { JobRequest, JobResponse } from './bench-pool.js';

const port = parentPort;
if (port === null) throw new Error('bench-worker runs as a worker thread');
const scenarios = new Map<string, Scenario>();
/** Config-file policies registered in this thread (the parent's registry does not cross threads). */
const configs = new Map<string, string>();

port.on('message', (job: JobRequest) => {
  void run(job).then(
    (msg) => port.postMessage(msg),
    (err: unknown) => port.postMessage({ type: 'error', id: job.id, message: err instanceof Error ? err.message : String(err) } satisfies JobResponse),
  );
});

async function run(job: JobRequest): Promise<JobResponse> {
  let scenario = scenarios.get(job.file);
  if (scenario === undefined) scenarios.set(job.file, (scenario = loadScenario(job.file)));
  const configName = job.configName ?? job.policy;
  if (job.configPath !== undefined && configs.get(configName) !== job.configPath) {
    registerConfigPolicy(configName, job.configPath);
    configs.set(configName, job.configPath);
  }
  const t0 = performance.now();
  let last = 0;
  const result = await runScorecard(scenario, policyFactory(job.policy), {
    seed: job.seed,
    tracePicks: job.picksDir !== undefined,
    onProgress: (f) => {
      // A few updates per run are enough for the bar.
      if (f - last >= 0.1) {
        last = f;
        port?.postMessage({ type: 'progress', id: job.id, fraction: f } satisfies JobResponse);
      }
    },
  });
  const wallMs = performance.now() - t0;
  const tail = job.picksDir !== undefined && result.picks !== undefined ? keepRun(job.picksDir, scenario, job.policy, job.seed, result.picks) : undefined;
  return {
    type: 'done',
    id: job.id,
    ...(tail === undefined ? {} : { tail }),
    requests: result.records.length,
    run: buildRunReport(scenario, job.policy, job.seed, result.records, result.stageCounters, scenario.fleet.pods, wallMs),
  };
}
