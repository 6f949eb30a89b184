/**
 * Runs many (scenario file, policy, seed) jobs on N worker threads (`bench-worker.ts`), or in
 * this thread when N is 1, and returns each job's run report in job order, so the reports do
 * not depend on N.
 */
import { Worker } from 'node:worker_threads';
import type { RunReport } from '../loadgen/report.js';
import type { ProgressBar, RunCounter } from '../loadgen/progress.js';
import { buildRunReport } from '../loadgen/report.js';
import { policyFactory } from '../sim/scorecard/policies.js';
import { runScorecard } from '../sim/scorecard/runner.js';
import { keepRun, type TailCensus } from '../sim/scorecard/pick-trace.js';
import type { Scenario } from '../workload/scenario.js';

/** One run to do. */
export interface Job {
  file: string;
  scenario: Scenario;
  policy: string;
  seed: number;
  /** The policy's EndpointPickerConfig file when it is not a built-in (`--config name=path`). */
  configPath?: string;
  /** The name that file is registered under: the policy's, or for a twin (`NAME@K`) its original's. */
  configName?: string;
}

/** Parent → worker. */
export interface JobRequest {
  id: number;
  file: string;
  policy: string;
  seed: number;
  configPath?: string;
  configName?: string;
  /** Folder for the run's pick trace (`--trace-picks`), absent: none. */
  picksDir?: string;
}

/** Worker → parent. */
export type JobResponse =
  | { type: 'progress'; id: number; fraction: number }
  | { type: 'done'; id: number; run: RunReport; requests: number; tail?: TailCensus }
  | { type: 'error'; id: number; message: string };

/** The worker's module: the compiled .js next to this file, or the .ts source when run from source. */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './bench-worker.ts' : './bench-worker.js', import.meta.url);
}

function labelOf(counter: RunCounter, j: Job): string {
  return `${counter.label()} · ${j.scenario.name} · ${j.policy} · seed ${j.seed}`;
}

/** Where traced runs go: the folder of their pick traces, and who hears each run's tail census. */
export interface PickSink {
  dir: string;
  onTail(policy: string, tail: TailCensus): void;
}

/** Runs `jobs` on `threads` workers (1: in this thread); reports in job order; with `picks`, each run writes its pick trace. */
export async function runJobs(jobs: readonly Job[], threads: number, progress: ProgressBar | null, counter: RunCounter, picks: PickSink | null = null): Promise<RunReport[]> {
  const out = new Array<RunReport>(jobs.length);
  if (threads <= 1) {
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[i];
      const label = labelOf(counter, j);
      const t0 = performance.now();
      const run = await runScorecard(j.scenario, policyFactory(j.policy), {
        seed: j.seed,
        tracePicks: picks !== null,
        onProgress: progress === null ? undefined : (f) => progress.update(label, f, counter.eta(f)),
      });
      const wallMs = performance.now() - t0;
      if (picks !== null && run.picks !== undefined) picks.onTail(j.policy, keepRun(picks.dir, j.scenario, j.policy, j.seed, run.picks));
      counter.finish();
      progress?.done(label, `${run.records.length} requests, ${(wallMs / 1000).toFixed(1)} s, ${counter.eta()}`);
      out[i] = buildRunReport(j.scenario, j.policy, j.seed, run.records, run.stageCounters, j.scenario.fleet.pods, wallMs);
    }
    return out;
  }
  const workers = Array.from({ length: Math.min(threads, jobs.length) }, () => new Worker(workerUrl()));
  let next = 0;
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let current = -1;
            const give = (): void => {
              if (next >= jobs.length) {
                resolve();
                return;
              }
              current = next++;
              const j = jobs[current];
              w.postMessage({ id: current, file: j.file, policy: j.policy, seed: j.seed, configPath: j.configPath, configName: j.configName, ...(picks === null ? {} : { picksDir: picks.dir }) } satisfies JobRequest);
            };
            w.on('message', (m: JobResponse) => {
              const j = jobs[m.id];
              if (m.type === 'progress') progress?.update(labelOf(counter, j), m.fraction, counter.eta());
              else if (m.type === 'error') reject(new Error(`${j.scenario.name} · ${j.policy} · seed ${j.seed}: ${m.message}`));
              else {
                out[m.id] = m.run;
                if (picks !== null && m.tail !== undefined) picks.onTail(j.policy, m.tail);
                counter.finish();
                progress?.done(`${counter.label()} · ${j.scenario.name} · ${j.policy} · seed ${j.seed}`, `${m.requests} requests, ${(m.run.wallMs / 1000).toFixed(1)} s, ${counter.eta()}`);
                give();
              }
            });
            w.on('error', reject);
            w.on('exit', (code) => {
              if (next < jobs.length || current >= 0 && out[current] === undefined) reject(new Error(`bench worker exited with code ${code}`));
            });
            give();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}
