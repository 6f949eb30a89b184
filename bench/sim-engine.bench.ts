/**
 * Speed of the engine model in virtual time: how fast the scorecard can simulate a fleet.
 *
 * Workload: 8 pods (llama-3.1-8b-h100, 4,000 KV blocks), 3,000 requests sharing 60 system
 * prompts of 6,000 tokens with 1,200-token questions and 256-token answers, Poisson at 20 req/s,
 * routed round-robin. Measures wall time per run (median and spread of 5 runs) and the ratio
 * of simulated time to wall time — the baseline being real time, which a wall-clock simulator
 * (such as llm-d-inference-sim) cannot beat.
 *
 *   npm run bench:sim-engine
 */
import { join } from 'node:path';
import { Engine } from '../src/sim/engine/engine.js';
import { resolveProfile } from '../src/workload/engine-profile.js';
import { Rng } from '../src/util/random.js';
import { SimRequest, type RequestSink } from '../src/sim/engine/request.js';
import { VirtualScheduler } from '../src/sim/engine/scheduler.js';
import { synthText, tokenize } from '../src/workload/tokenizer.js';
import { loadNote, machine, median, writeJson, writeResultsSection } from './lib/stats.js';

const PODS = 8;
const REQUESTS = 3000;
const RUNS = 5;

interface RunResult {
  wallMs: number;
  virtualMs: number;
  steps: number;
  tokens: number;
}

function prepare(): Array<{ at: number; prompt: Int32Array }> {
  const rng = new Rng(1);
  const systems = Array.from({ length: 60 }, (_, g) => synthText(1000 + g, 6000));
  const out: Array<{ at: number; prompt: Int32Array }> = [];
  let t = 0;
  for (let i = 0; i < REQUESTS; i++) {
    t += rng.exponential(1000 / 20);
    out.push({ at: t, prompt: tokenize(systems[rng.int(0, 59)] + synthText(5000 + i, 1200)) });
  }
  return out;
}

function run(work: ReadonlyArray<{ at: number; prompt: Int32Array }>): RunResult {
  const t0 = performance.now();
  const sched = new VirtualScheduler();
  const profile = resolveProfile('llama-3.1-8b-h100', { numGpuBlocks: 4000 });
  const engines = Array.from({ length: PODS }, () => new Engine(profile, sched, { histograms: false }));
  let tokens = 0;
  const sink: RequestSink = {
    onToken() {
      tokens++;
    },
    onFinish() {},
    onFail() {},
  };
  work.forEach((w, i) => {
    sched.at(w.at, () => engines[i % PODS].submit(new SimRequest({ id: `r${i}`, prompt: w.prompt, maxTokens: 256, outputSeed: i, lora: null, sink })));
  });
  while (sched.step()) {
    /* run to completion */
  }
  const wallMs = performance.now() - t0;
  return { wallMs, virtualMs: sched.now(), steps: engines.reduce((a, e) => a + e.counters.steps, 0), tokens };
}

const work = prepare();
run(work); // warm-up (JIT)
const results: RunResult[] = [];
for (let i = 0; i < RUNS; i++) results.push(run(work));
const wall = results.map((r) => r.wallMs);
const speedup = results.map((r) => r.virtualMs / r.wallMs);
const summary = {
  command: 'npm run bench:sim-engine',
  date: new Date().toISOString(),
  machine: machine(),
  preliminary: true,
  workload: `${PODS} pods, ${REQUESTS} requests (6,000-token shared prefix + 1,200-token question, 256 output), Poisson 20 req/s`,
  runs: RUNS,
  wallMs: { median: median(wall), min: Math.min(...wall), max: Math.max(...wall) },
  virtualSeconds: results[0].virtualMs / 1000,
  engineSteps: results[0].steps,
  outputTokens: results[0].tokens,
  stepsPerWallSecond: median(results.map((r) => r.steps / (r.wallMs / 1000))),
  speedupOverRealTime: { median: median(speedup), min: Math.min(...speedup), max: Math.max(...speedup) },
};
writeJson(join('bench', 'results', 'sim-engine.json'), summary);
const s1 = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const x = (v: number): string => `${v.toFixed(0)}×`;
writeResultsSection(
  join('bench', 'RESULTS.md'),
  'sim-engine',
  `## Simulator speed (\`npm run bench:sim-engine\`)

Virtual-time engine model alone (no router): ${summary.workload}; ${RUNS} runs after a warm-up run.
${loadNote()}.

Machine: ${summary.machine}. Run: ${summary.date.slice(0, 10)}.

| metric | median | min–max |
|---|---:|---:|
| wall time per run | ${s1(summary.wallMs.median)} | ${s1(summary.wallMs.min)}–${s1(summary.wallMs.max)} |
| simulated time per run | ${summary.virtualSeconds.toFixed(1)} s | |
| speed-up over real time (baseline: a wall-clock simulator, 1×) | ${x(summary.speedupOverRealTime.median)} | ${x(summary.speedupOverRealTime.min)}–${x(summary.speedupOverRealTime.max)} |
| engine steps per wall second | ${Math.round(summary.stepsPerWallSecond).toLocaleString('en-US')} | |
`,
);
process.stdout.write(`${JSON.stringify(summary, null, 2)}\nwrote bench/results/sim-engine.json and bench/RESULTS.md\n`);
