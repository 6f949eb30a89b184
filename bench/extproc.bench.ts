/**
 * `npm run bench:extproc`: complete ext_proc request exchanges (headers, body in 16 KiB pieces,
 * pick, header mutation, body echo) per second, server CPU time per exchange, and per-exchange
 * latency p50/p99, for Switchboard's ext_proc server and for a bare grpc-js server that does the
 * same frame exchange with no logic (the floor), in the same run.
 *
 * Load comes from h2load (nghttp2's C HTTP/2 client, like Envoy's) replaying pre-encoded gRPC
 * frames: a grpc-js client would spend more CPU per exchange than the server and saturate first.
 * Each server runs in its own child process, whose CPU time is read from process.cpuUsage().
 * A third server, `frontdoor`, is the ext_proc server with a fixed-answer director: it tells the
 * front door's own cost apart from the core's (scheduling, telemetry).
 *
 * Writes bench/results/extproc.json and the ext_proc section of bench/RESULTS.md.
 *
 * `--dashboard-viewer` measures the live dashboard's cost instead: one Switchboard server with the
 * dashboard on, with one viewer connected to its event stream and with none, alternating run by
 * run (one process for both, so nothing but the viewer differs), plus its idle CPU with and
 * without the viewer. Writes bench/results/dashboard-extproc.json and its own section.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, credentials } from '@grpc/grpc-js';
import { decodeProcessingResponse, encodeProcessingRequest, PROCESS_PATH } from '../src/frontends/extproc/codec.js';
import type { ProcessingRequest, ProcessingResponse } from '../src/frontends/extproc/messages.js';
import { requestBody, requestMessages, requestStreamBytes } from './extproc-frames.js';
import { loadNote, machine, median, percentile, writeJson, writeResultsSection } from './lib/stats.js';
import { connectViewer, type Viewer } from './support/dashboard-viewer.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (the script runs from dist-bench/bench/). */
const repo = join(here, '..', '..');
const BODY_SIZES = [2 * 1024, 220 * 1024];
const CONCURRENCY = [1, 64];
type Kind = 'floor' | 'frontdoor' | 'switchboard' | 'switchboard-viewer';
/** Measure the dashboard's cost: Switchboard with and without one dashboard viewer. */
const VIEWER = process.argv.includes('--dashboard-viewer') || process.env.DASHBOARD_VIEWER === '1';
const KINDS: readonly Kind[] = ['floor', 'frontdoor', 'switchboard'];
/** Seconds of the idle CPU measurement of `--dashboard-viewer`. */
const IDLE_SECONDS = 10;
const RUNS = Number(process.env.EXTPROC_BENCH_RUNS ?? 5);
/** Target length of one measured run, seconds. */
const RUN_SECONDS = Number(process.env.EXTPROC_BENCH_SECONDS ?? 2);

interface Sample {
  exchangesPerSec: number;
  cpuUsPerExchange: number;
  p50Ms: number;
  p99Ms: number;
  clientCpuUsPerExchange: number;
}

interface Scenario {
  kind: Kind;
  bodyBytes: number;
  concurrency: number;
  samples: Sample[];
}

function checkH2load(): void {
  const r = spawnSync('h2load', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    process.stderr.write(
      'h2load not found. It drives the load (a C HTTP/2 client, like Envoy).\n' +
        'Install it with:  apt-get install nghttp2-client   (Debian/Ubuntu; brew install nghttp2 on macOS)\n',
    );
    process.exit(1);
  }
}

interface Started {
  child: ChildProcess;
  port: number;
  /** The dashboard's port on `switchboard-viewer`, else null. */
  dashboardPort: number | null;
}

function startServer(kind: Kind, bodyBytes: number): Promise<Started> {
  const child = fork(join(here, 'extproc-server.js'), [kind, String(bodyBytes)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
    child.on('message', (m: { port?: number; dashboardPort?: number | null }) => {
      if (m.port !== undefined) resolve({ child, port: m.port, dashboardPort: m.dashboardPort ?? null });
    });
  });
}

/** Runs `f` with a dashboard viewer connected to `s` (after its first frame), or without. */
async function withViewer<T>(s: Started, on: boolean, f: () => Promise<T>, seen: { frames: number; bytes: number }): Promise<T> {
  if (!on) return f();
  const viewer: Viewer = await connectViewer(s.dashboardPort!);
  await new Promise((r) => setTimeout(r, 1100));
  try {
    return await f();
  } finally {
    seen.frames += viewer.frames();
    seen.bytes += viewer.bytes();
    viewer.close();
  }
}

/**
 * `--dashboard-viewer` for one body size: one server with the dashboard on; runs without and with
 * a viewer alternate (which goes first alternates too), then idle CPU without and with one.
 */
async function measureViewer(bodyBytes: number, file: string, work: string, idle: Array<Record<string, number>>): Promise<Scenario[]> {
  const s = await startServer('switchboard-viewer', bodyBytes);
  const seen = { frames: 0, bytes: 0 };
  const out: Scenario[] = [];
  try {
    await validate(s.port, bodyBytes);
    for (const concurrency of CONCURRENCY) {
      const log = join(work, `h2load-${bodyBytes}-${concurrency}.log`);
      const warm = await h2load(s.port, file, concurrency === 1 ? 300 : 2000, concurrency, log);
      const n = Math.max(200, Math.min(100_000, Math.round((warm.latenciesUs.length / warm.seconds) * RUN_SECONDS)));
      const samples: Record<'switchboard' | 'switchboard-viewer', Sample[]> = { switchboard: [], 'switchboard-viewer': [] };
      for (let r = 0; r < RUNS; r++) {
        for (const on of r % 2 === 0 ? [false, true] : [true, false]) {
          const sample = await withViewer(s, on, async () => {
            const cpu0 = await serverCpuUs(s.child);
            const res = await h2load(s.port, file, n, concurrency, log);
            const cpu1 = await serverCpuUs(s.child);
            return { exchangesPerSec: n / res.seconds, cpuUsPerExchange: (cpu1 - cpu0) / n, p50Ms: percentile(res.latenciesUs, 50) / 1000, p99Ms: percentile(res.latenciesUs, 99) / 1000, clientCpuUsPerExchange: res.clientCpuUs / n };
          }, seen);
          samples[on ? 'switchboard-viewer' : 'switchboard'].push(sample);
        }
      }
      for (const kind of ['switchboard', 'switchboard-viewer'] as const) {
        out.push({ kind, bodyBytes, concurrency, samples: samples[kind] });
        process.stdout.write(
          `${(kind === 'switchboard' ? 'no viewer' : 'one viewer').padEnd(11)} body ${fmtBytes(bodyBytes).padStart(6)} c=${String(concurrency).padEnd(2)}  ` +
            `${median(samples[kind].map((x) => x.exchangesPerSec)).toFixed(0).padStart(6)} exchanges/s  ${median(samples[kind].map((x) => x.cpuUsPerExchange)).toFixed(1).padStart(7)} µs CPU/exchange\n`,
        );
      }
    }
    const idleCpu = (on: boolean) =>
      withViewer(s, on, async () => {
        const before = await serverCpuUs(s.child);
        await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
        return (((await serverCpuUs(s.child)) - before) / (IDLE_SECONDS * 1e6)) * 100;
      }, seen);
    idle.push({ switchboard: await idleCpu(false), 'switchboard-viewer': await idleCpu(true) });
    process.stdout.write(`idle CPU % of a core: ${JSON.stringify(idle[idle.length - 1])}; the viewer got ${seen.frames} frames, ${seen.bytes} bytes\n`);
  } finally {
    s.child.send('exit');
  }
  return out;
}

function serverCpuUs(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (m: { cpu?: { user: number; system: number } }) => {
      if (m.cpu === undefined) return;
      child.off('message', onMessage);
      resolve(m.cpu.user + m.cpu.system);
    };
    child.on('message', onMessage);
    child.send('cpu');
  });
}

/** One exchange through a grpc-js client: proves the server answers correctly before timing it. */
async function validate(port: number, bodyBytes: number): Promise<void> {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  const call = client.makeBidiStreamRequest<ProcessingRequest, ProcessingResponse>(PROCESS_PATH, encodeProcessingRequest, decodeProcessingResponse);
  const got: ProcessingResponse[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (m: ProcessingResponse) => got.push(m));
    call.on('status', (s) => (s.code === 0 ? resolve() : reject(new Error(s.details))));
    call.on('error', () => {});
  });
  for (const m of requestMessages(bodyBytes)) call.write(m);
  call.end();
  await done;
  client.close();
  const dst = got[0]?.requestHeaders?.response?.headerMutation?.setHeaders?.[0];
  if (dst?.header.key !== 'x-gateway-destination-endpoint') throw new Error('first response does not route the request');
  const echoed = Buffer.concat(got.slice(1).map((r) => Buffer.from(r.requestBody?.response?.bodyMutation?.streamedResponse?.body ?? [])));
  if (!echoed.equals(requestBody(bodyBytes))) throw new Error('body echo differs from the request body');
  if (got[got.length - 1].requestBody?.response?.bodyMutation?.streamedResponse?.endOfStream !== true) throw new Error('no end_of_stream');
}


/** Runs h2load for `n` exchanges; returns its report plus its own CPU time. */
function h2load(port: number, file: string, n: number, concurrency: number, logFile: string): Promise<{ seconds: number; latenciesUs: number[]; clientCpuUs: number }> {
  const args = [
    '-n', String(n), '-c', '1', '-m', String(concurrency), '-t', '1',
    '-d', file,
    '-H', 'content-type: application/grpc', '-H', 'te: trailers',
    `--log-file=${logFile}`,
    `http://127.0.0.1:${port}${PROCESS_PATH}`,
  ];
  // bash's `time` reports the client's CPU, to show that the client is not the bottleneck.
  const p = spawn('bash', ['-c', 'TIMEFORMAT="h2load-cpu %U %S"; time h2load "$@"', 'bash', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    p.on('close', (code) => {
      const finished = /finished in ([\d.]+)(m?s)/.exec(out);
      const requests = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
      const cpu = /h2load-cpu ([\d.]+) ([\d.]+)/.exec(out);
      if (code !== 0 || finished === null || requests === null || cpu === null) return reject(new Error(`h2load failed:\n${out}`));
      if (Number(requests[3]) !== n) return reject(new Error(`h2load: only ${requests[3]} of ${n} exchanges succeeded:\n${out}`));
      const seconds = Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1);
      const latenciesUs = readFileSync(logFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => Number(l.split('\t')[2]))
        .sort((a, b) => a - b);
      resolve({ seconds, latenciesUs, clientCpuUs: (Number(cpu[1]) + Number(cpu[2])) * 1e6 });
    });
  });
}

/**
 * Measures one body size: the three servers run side by side (one child process each) and
 * their runs are interleaved (floor, frontdoor, switchboard, floor, ...), so load from other
 * work on a shared machine falls on all of them alike instead of on whichever ran last.
 */
async function measureSize(bodyBytes: number, file: string, work: string): Promise<Scenario[]> {
  const servers = new Map<Kind, Started>();
  const out: Scenario[] = [];
  try {
    for (const kind of KINDS) servers.set(kind, await startServer(kind, bodyBytes));
    for (const { port } of servers.values()) await validate(port, bodyBytes);
    for (const concurrency of CONCURRENCY) {
      const log = join(work, `h2load-${bodyBytes}-${concurrency}.log`);
      // Warm-up (JIT, buffers), which also sizes the measured runs to about RUN_SECONDS each.
      const sizes = new Map<Kind, number>();
      for (const [kind, { port }] of servers) {
        const warm = await h2load(port, file, concurrency === 1 ? 300 : 2000, concurrency, log);
        const rate = warm.latenciesUs.length / warm.seconds;
        sizes.set(kind, Math.max(200, Math.min(100_000, Math.round(rate * RUN_SECONDS))));
      }
      const samples = new Map<Kind, Sample[]>(KINDS.map((k) => [k, []]));
      for (let r = 0; r < RUNS; r++) {
        for (const [kind, { child, port }] of servers) {
          const n = sizes.get(kind)!;
          const cpu0 = await serverCpuUs(child);
          const res = await h2load(port, file, n, concurrency, log);
          const cpu1 = await serverCpuUs(child);
          samples.get(kind)!.push({
            exchangesPerSec: n / res.seconds,
            cpuUsPerExchange: (cpu1 - cpu0) / n,
            p50Ms: percentile(res.latenciesUs, 50) / 1000,
            p99Ms: percentile(res.latenciesUs, 99) / 1000,
            clientCpuUsPerExchange: res.clientCpuUs / n,
          });
        }
      }
      for (const kind of KINDS) {
        const ks = samples.get(kind)!;
        out.push({ kind, bodyBytes, concurrency, samples: ks });
        process.stdout.write(
          `${kind.padEnd(11)} body ${fmtBytes(bodyBytes).padStart(6)} c=${String(concurrency).padEnd(2)}  ` +
            `${median(ks.map((x) => x.exchangesPerSec)).toFixed(0).padStart(6)} exchanges/s  ` +
            `${median(ks.map((x) => x.cpuUsPerExchange)).toFixed(1).padStart(7)} µs CPU/exchange\n`,
        );
      }
    }
  } finally {
    for (const { child } of servers.values()) child.send('exit');
  }
  return out;
}

function fmtBytes(b: number): string {
  return b >= 1024 ? `${b / 1024} KB` : `${b} B`;
}

interface Stat {
  median: number;
  min: number;
  max: number;
}

function stat(xs: number[]): Stat {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

function summarize(all: Scenario[]) {
  const rows = all.map((s) => ({
    kind: s.kind,
    bodyBytes: s.bodyBytes,
    concurrency: s.concurrency,
    exchangesPerSec: stat(s.samples.map((x) => x.exchangesPerSec)),
    serverCpuUsPerExchange: stat(s.samples.map((x) => x.cpuUsPerExchange)),
    p50Ms: stat(s.samples.map((x) => x.p50Ms)),
    p99Ms: stat(s.samples.map((x) => x.p99Ms)),
    clientCpuUsPerExchange: stat(s.samples.map((x) => x.clientCpuUsPerExchange)),
    samples: s.samples,
  }));
  const ratios = BODY_SIZES.flatMap((bodyBytes) =>
    CONCURRENCY.map((concurrency) => {
      const f = rows.find((r) => r.kind === 'floor' && r.bodyBytes === bodyBytes && r.concurrency === concurrency)!;
      const s = rows.find((r) => r.kind === 'switchboard' && r.bodyBytes === bodyBytes && r.concurrency === concurrency)!;
      const d = rows.find((r) => r.kind === 'frontdoor' && r.bodyBytes === bodyBytes && r.concurrency === concurrency)!;
      const throughput = s.exchangesPerSec.median / f.exchangesPerSec.median;
      const cpu = s.serverCpuUsPerExchange.median / f.serverCpuUsPerExchange.median;
      const small = bodyBytes <= 2048;
      return {
        bodyBytes,
        concurrency,
        throughputVsFloor: throughput,
        cpuVsFloor: cpu,
        frontDoorThroughputVsFloor: d.exchangesPerSec.median / f.exchangesPerSec.median,
        frontDoorCpuVsFloor: d.serverCpuUsPerExchange.median / f.serverCpuUsPerExchange.median,
        target: small ? 'throughput >= 0.70 and CPU <= 1.4x floor' : 'throughput >= 0.50 of floor',
        met: small ? throughput >= 0.7 && cpu <= 1.4 : throughput >= 0.5,
      };
    }),
  );
  return { rows, ratios };
}

function writeResults(summary: ReturnType<typeof summarize>): void {
  const h2v = spawnSync('h2load', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const date = new Date().toISOString();
  writeJson(join(repo, 'bench', 'results', 'extproc.json'), {
    benchmark: 'extproc',
    preliminary: true,
    note: 'Shared 2-core machine with other work running; numbers are preliminary. The floor is a bare grpc-js server passing raw bytes (no protobuf codec, no logic).',
    date,
    command: 'npm run bench:extproc',
    machine: machine(),
    client: h2v,
    runsPerScenario: RUNS,
    exchange: 'request phase: headers (+protocol_config) and the body in 16 KiB pieces -> routing headers response + body echoed as <=62,000-byte streamed_response chunks',
    ...summary,
  });
  const range = (x: { min: number; max: number }, d: number) => `${x.min.toFixed(d)}–${x.max.toFixed(d)}`;
  const lines = [
    '## ext_proc front door (`npm run bench:extproc`)',
    '',
    `${loadNote()}. ${machine()}, ${h2v}, ${date.slice(0, 10)}. Median of ${RUNS} runs (min–max).`,
    '',
    'One exchange is the request phase of one ext_proc stream: headers with protocol_config, the body in 16 KiB pieces, the ' +
      'routing headers response and the body echoed back. Load: h2load on one HTTP/2 connection with `-m` concurrent streams ' +
      'replaying pre-encoded gRPC frames. **floor**: a bare grpc-js server passing raw bytes, no codec, no logic. ' +
      '**frontdoor**: the real ext_proc server with a fixed-answer director (the front door alone). **switchboard**: the real ' +
      'server with the real director and scheduler (default config, 8 endpoints, plugin timing on), plaintext.',
    '',
    '| server | body | concurrency | exchanges/s | server CPU µs/exchange | p50 ms | p99 ms | h2load CPU µs/exchange |',
    '|---|---|---|---|---|---|---|---|',
    ...summary.rows.map(
      (r) =>
        `| ${r.kind} | ${fmtBytes(r.bodyBytes)} | ${r.concurrency} | ${r.exchangesPerSec.median.toFixed(0)} (${range(r.exchangesPerSec, 0)}) | ` +
        `${r.serverCpuUsPerExchange.median.toFixed(1)} (${range(r.serverCpuUsPerExchange, 1)}) | ` +
        `${r.p50Ms.median.toFixed(3)} | ${r.p99Ms.median.toFixed(3)} | ${r.clientCpuUsPerExchange.median.toFixed(1)} |`,
    ),
    '',
    '| body | concurrency | switchboard throughput vs floor | switchboard CPU vs floor | front door alone: throughput / CPU vs floor | target (switchboard) | met |',
    '|---|---|---|---|---|---|---|',
    ...summary.ratios.map(
      (r) =>
        `| ${fmtBytes(r.bodyBytes)} | ${r.concurrency} | ${r.throughputVsFloor.toFixed(2)} | ${r.cpuVsFloor.toFixed(2)}× | ` +
        `${r.frontDoorThroughputVsFloor.toFixed(2)} / ${r.frontDoorCpuVsFloor.toFixed(2)}× | ${r.target} | ${r.met ? 'yes' : 'no'} |`,
    ),
  ];
  writeResultsSection(join(repo, 'bench', 'RESULTS.md'), 'extproc', lines.join('\n'));
}

/** `--dashboard-viewer`: CPU per exchange and throughput with one viewer against without, paired run by run. */
function writeViewerResults(all: Scenario[], idle: Array<Record<string, number>>): void {
  const rows = BODY_SIZES.flatMap((bodyBytes) =>
    CONCURRENCY.map((concurrency) => {
      const base = all.find((s) => s.kind === 'switchboard' && s.bodyBytes === bodyBytes && s.concurrency === concurrency)!.samples;
      const viewer = all.find((s) => s.kind === 'switchboard-viewer' && s.bodyBytes === bodyBytes && s.concurrency === concurrency)!.samples;
      const cpu = stat(viewer.map((v, i) => v.cpuUsPerExchange / base[i].cpuUsPerExchange));
      const throughput = stat(viewer.map((v, i) => v.exchangesPerSec / base[i].exchangesPerSec));
      return { bodyBytes, concurrency, cpuRatio: cpu, throughputRatio: throughput, cpuUsPerExchange: { without: median(base.map((x) => x.cpuUsPerExchange)), with: median(viewer.map((x) => x.cpuUsPerExchange)) } };
    }),
  );
  const idleMedian = (k: string) => median(idle.map((x) => x[k]));
  const date = new Date().toISOString();
  writeJson(join(repo, 'bench', 'results', 'dashboard-extproc.json'), { benchmark: 'extproc --dashboard-viewer', date, machine: machine(), runsPerScenario: RUNS, rows, idleCpuPercent: idle });
  const range = (x: Stat) => `${x.median.toFixed(3)} (${x.min.toFixed(3)}–${x.max.toFixed(3)})`;
  const lines = [
    '## Live dashboard cost, ext_proc (`npm run bench:extproc -- --dashboard-viewer`)',
    '',
    `${loadNote()}. ${machine()}, ${date.slice(0, 10)}. One Switchboard ext_proc server (as **switchboard** above) with the dashboard on; ${RUNS} runs per scenario with one viewer reading \`/dashboard/events\` and with none, alternating which goes first; ratios paired per run, median (min–max).`,
    '',
    '| body | concurrency | CPU/exchange with viewer ÷ without | exchanges/s with ÷ without | CPU µs/exchange without → with |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${fmtBytes(r.bodyBytes)} | ${r.concurrency} | ${range(r.cpuRatio)} | ${range(r.throughputRatio)} | ${r.cpuUsPerExchange.without.toFixed(1)} → ${r.cpuUsPerExchange.with.toFixed(1)} |`),
    '',
    `Idle (no requests), ${IDLE_SECONDS} s per body size: ${idleMedian('switchboard').toFixed(2)}% of a core without a viewer, ${idleMedian('switchboard-viewer').toFixed(2)}% with one.`,
  ];
  writeResultsSection(join(repo, 'bench', 'RESULTS.md'), 'dashboard-extproc', lines.join('\n'));
  for (const r of rows) process.stdout.write(`body ${fmtBytes(r.bodyBytes)} c=${r.concurrency}: CPU/exchange with a viewer ${r.cpuRatio.median.toFixed(3)}x without\n`);
}

async function main(): Promise<void> {
  checkH2load();
  const work = mkdtempSync(join(tmpdir(), 'sb-extproc-bench-'));
  try {
    const all: Scenario[] = [];
    const idle: Array<Record<string, number>> = [];
    for (const bodyBytes of BODY_SIZES) {
      const file = join(work, `request-${bodyBytes}.bin`);
      writeFileSync(file, requestStreamBytes(bodyBytes));
      all.push(...(VIEWER ? await measureViewer(bodyBytes, file, work, idle) : await measureSize(bodyBytes, file, work)));
    }
    if (VIEWER) {
      writeViewerResults(all, idle);
      return;
    }
    const summary = summarize(all);
    writeResults(summary);
    for (const r of summary.ratios) {
      process.stdout.write(
        `body ${fmtBytes(r.bodyBytes)} c=${r.concurrency}: ${r.throughputVsFloor.toFixed(2)} of the floor's throughput, ` +
          `${r.cpuVsFloor.toFixed(2)}x its CPU (${r.met ? 'meets' : 'misses'} ${r.target})\n`,
      );
    }
    process.stdout.write('wrote bench/results/extproc.json and bench/RESULTS.md\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
