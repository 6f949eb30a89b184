/**
 * Two builds' proxy front doors against each other: CPU per request of each build's proxy process
 * at a fixed offered rate, rounds alternating A B / B A, paired per round. This is how "no slower
 * than before" is checked for a change to the proxy: `bench:proxy` compares configurations of one
 * build, and its closed-loop CPU per request moves with throughput.
 *
 *   npm run build:bench                      # in both checkouts
 *   npm run bench:proxy-ab -- <other checkout>/dist-bench [--mode real|pass-through]
 *
 * A is the other build, B this one. `pass-through` (default) measures the front door alone (the
 * core replaced by a pass-through director); `real` runs the default core on one pod. Each build
 * runs `bench/support/switchboard-proxy.js` from its own dist-bench, pinned to CPU 0 when
 * `taskset` exists; the pod and the load, to CPU 1. Environment: ROUNDS (8), DURATION seconds
 * per run (3), RATE req/s (3000). Prints per-round figures and medians; writes
 * bench/out/results/proxy-ab.json (bench/results/ with --publish).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { canPin, cpuTimeUs, pinned, startScript } from './lib/processes.js';
import { median, writeJson } from './lib/stats.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 8);
const DURATION = Number(process.env.DURATION ?? 3);
const RATE = Number(process.env.RATE ?? 3000);

const args = process.argv.slice(2);
const other = args.find((a) => !a.startsWith('--'));
const modeAt = args.indexOf('--mode');
const mode = modeAt >= 0 ? args[modeAt + 1] : 'pass-through';
if (other === undefined || (mode !== 'real' && mode !== 'pass-through')) {
  process.stderr.write('usage: proxy-ab.bench.js <other build>/dist-bench [--mode real|pass-through]\n');
  process.exit(2);
}
const builds: Record<'A' | 'B', string> = { A: resolve(other, 'bench'), B: here };

const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
let pinProxy: string[] = [];
let pinLoad: string[] = [];

/** Starts `script` pinned with `pin`; resolves with its pid and the port it printed. */
async function start(pin: string[], script: string, extra: string[]): Promise<{ pid: number; port: number }> {
  const f = await startScript(script, extra, pin, children);
  return { pid: Number(f.pid), port: Number(f.port) };
}

async function load(port: number, seconds: number): Promise<{ ok: number; errors: number }> {
  const [cmd, argv] = pinned(pinLoad, process.execPath, [join(here, 'support', 'rate-client.js'), `http://127.0.0.1:${port}/v1/completions`, String(RATE), String(seconds)]);
  const { stdout } = await run(cmd, argv);
  return JSON.parse(stdout) as { ok: number; errors: number };
}

async function main(): Promise<void> {
  if (await canPin()) {
    pinProxy = ['taskset', '-c', '0'];
    pinLoad = ['taskset', '-c', '1'];
  }
  const pod = await start(pinLoad, join(here, 'support', 'bench-pod.js'), []);
  const proxies = {
    A: await start(pinProxy, join(builds.A, 'support', 'switchboard-proxy.js'), [String(pod.port), ...(mode === 'real' ? [] : [mode])]),
    B: await start(pinProxy, join(builds.B, 'support', 'switchboard-proxy.js'), [String(pod.port), ...(mode === 'real' ? [] : [mode])]),
  };
  for (const b of ['A', 'B'] as const) await load(proxies[b].port, 2); // warm-up
  const cpu: Record<'A' | 'B', number[]> = { A: [], B: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const b of r % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
      const before = cpuTimeUs(proxies[b].pid);
      const { ok, errors } = await load(proxies[b].port, DURATION);
      if (errors > 0) throw new Error(`build ${b}: ${errors} failed requests`);
      cpu[b].push((cpuTimeUs(proxies[b].pid) - before) / ok);
    }
    process.stdout.write(`round ${r + 1}: A ${cpu.A[r].toFixed(1)} µs/req, B ${cpu.B[r].toFixed(1)} µs/req, B/A ${(cpu.B[r] / cpu.A[r]).toFixed(3)}\n`);
  }
  const ratios = cpu.B.map((b, i) => b / cpu.A[i]);
  const result = {
    benchmark: 'proxy-ab',
    mode,
    rate: RATE,
    rounds: ROUNDS,
    durationSeconds: DURATION,
    builds,
    cpuUsPerRequest: { A: median(cpu.A), B: median(cpu.B) },
    ratioBtoA: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
    perRound: cpu,
  };
  process.stdout.write(`median CPU per request: A ${result.cpuUsPerRequest.A.toFixed(1)} µs, B ${result.cpuUsPerRequest.B.toFixed(1)} µs; B/A ${result.ratioBtoA.median.toFixed(3)} (${result.ratioBtoA.min.toFixed(3)}-${result.ratioBtoA.max.toFixed(3)})\n`);
  writeJson(join(here, '..', '..', 'bench', 'results', 'proxy-ab.json'), result);
}

await main();
process.exit(0);
