/**
 * Proxy round-trip benchmark: three configurations against the same pod, in one run.
 *
 *   direct       load generator -> pod
 *   bare         load generator -> fastify + undici forwarding proxy (the floor) -> pod
 *   proxy-layer  load generator -> Switchboard's proxy front door with a pass-through director -> pod
 *   switchboard  load generator -> Switchboard's proxy front door with the real core -> pod
 *
 * `proxy-layer` is not one of the three configurations: it splits Switchboard's cost
 * into the front door's own and the core's (scheduling, accounting, telemetry).
 *
 * Small JSON completions at 64 connections are driven by `wrk` (C, one thread, its own process,
 * so the load generator costs little of the 2 cores); streamed completions of 100 SSE chunks
 * are timed one at a time by `sse-client.js` in its own process. Pod and proxies each run in
 * their own process too. Where `taskset` exists the proxies are pinned to CPU 0 and pod, wrk and
 * the SSE client to CPU 1, so a proxy's budget is one core whatever else runs. Besides req/s the
 * bench reads each serving process's CPU time from /proc and reports CPU microseconds per
 * request: on a shared machine that ratio is far steadier than throughput. Rounds rotate the
 * order of configurations; comparisons are paired per round, then the median over rounds.
 *
 * Writes bench/results/proxy.json and the proxy section of bench/RESULTS.md.
 * Environment: ROUNDS (8), DURATION seconds per 64-connection wrk run (3), SSE_STREAMS per round (30),
 * PIN=0 to run unpinned.
 *
 * `--dashboard-viewer` measures the live dashboard's cost instead: one Switchboard proxy with the
 * dashboard on, with one viewer reading its event stream and with none, rounds alternating, CPU
 * per request paired per round. Writes bench/results/dashboard-proxy.json and its own section of
 * bench/RESULTS.md.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { canPin, cpuTimeUs, pinned, startScript } from './lib/processes.js';
import { loadNote, machine, median, percentile, writeJson, writeResultsSection } from './lib/stats.js';
import { connectViewer } from './support/dashboard-viewer.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const ROUNDS = Number(process.env.ROUNDS ?? 8);
const DURATION = Number(process.env.DURATION ?? 3);
/** Seconds of the one-connection run that shows latency without queueing. */
const SINGLE_DURATION = 2;
const SSE_STREAMS = Number(process.env.SSE_STREAMS ?? 30);
const CONNECTIONS = 64;
const CONFIGS = ['direct', 'bare', 'proxy-layer', 'switchboard'] as const;
type Config = (typeof CONFIGS)[number];

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
  /** CPU time of the serving process (pod or proxy) per request, microseconds. */
  cpuUsPerRequest: number;
}
interface SseResult {
  ttfcMedian: number;
  ttfcP99: number;
  ttlcMedian: number;
  ttlcP99: number;
}
interface Spread {
  median: number;
  min: number;
  max: number;
}
interface JsonSummary {
  rps: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  oneConnectionP50Ms: Spread;
  oneConnectionP99Ms: Spread;
  cpuUsPerRequest: Spread;
  errors: number;
  runs: WrkResult[];
}
interface SseSummary {
  ttfcMs: Spread;
  ttfcP99Ms: Spread;
  ttlcMs: Spread;
  runs: SseResult[];
}

const children: ChildProcess[] = [];
/** `taskset -c <cpu>` prefix per role, or empty when not pinning. */
let pinProxy: string[] = [];
let pinLoad: string[] = [];

/** Starts `script` (compiled, beside this file) and resolves with what it printed as `key=value`. */
function startProcess(script: string, args: string[], pin: string[]): Promise<Record<string, string>> {
  return startScript(join(here, 'support', script), args, pin, children);
}

function ms(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

/** Parses wrk's `--latency` report. */
export function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const pct = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m === null ? NaN : ms(m[1], m[2]);
  };
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock === null ? 0 : sock.slice(1).reduce((a, b) => a + Number(b), 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  return { rps, p50: pct('50'), p99: pct('99'), errors: non2xx + socketErrors, requests, cpuUsPerRequest: NaN };
}

/** One wrk run against `url`; `servingPid` is the process whose CPU per request is measured. */
async function wrk(url: string, seconds: number, script: string, servingPid: number, connections = CONNECTIONS): Promise<WrkResult> {
  const cpuBefore = cpuTimeUs(servingPid);
  const [cmd, argv] = pinned(pinLoad, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, `${url}/v1/completions`]);
  const { stdout } = await run(cmd, argv);
  const result = parseWrk(stdout);
  result.cpuUsPerRequest = round((cpuTimeUs(servingPid) - cpuBefore) / result.requests);
  return result;
}

async function sse(url: string, count: number): Promise<SseResult> {
  const [cmd, argv] = pinned(pinLoad, process.execPath, [join(here, 'support', 'sse-client.js'), url, String(count)]);
  const { stdout } = await run(cmd, argv);
  const { ttfc, ttlc } = JSON.parse(stdout) as { ttfc: number[]; ttlc: number[] };
  ttfc.sort((a, b) => a - b);
  ttlc.sort((a, b) => a - b);
  return { ttfcMedian: median(ttfc), ttfcP99: percentile(ttfc, 99), ttlcMedian: median(ttlc), ttlcP99: percentile(ttlc, 99) };
}

/** Median and min/max of one field over the rounds. */
function summary<T>(runs: T[], field: keyof T): Spread {
  const v = runs.map((r) => r[field] as number);
  return { median: round(median(v)), min: round(Math.min(...v)), max: round(Math.max(...v)) };
}

/** `f` of each round's pair, summarized over the rounds. */
function paired<T>(a: T[], b: T[], f: (x: T, y: T) => number): Spread {
  return summary(a.map((x, i) => ({ v: f(x, b[i]) })), 'v');
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

async function main(): Promise<void> {
  await run('wrk', ['--version']).catch((e: { stdout?: string }) => {
    if (!String(e.stdout ?? '').includes('wrk')) {
      throw new Error('wrk not found: install it (Debian: apt-get install wrk) to run this benchmark');
    }
  });
  const script = join(tmpdir(), `switchboard-bench-${process.pid}.lua`);
  const body = JSON.stringify({ model: 'bench-model', prompt: 'Say hello to the benchmark', max_tokens: 16 });
  writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n`);

  const pinning = await canPin();
  if (pinning) {
    pinProxy = ['taskset', '-c', '0'];
    pinLoad = ['taskset', '-c', '1'];
  }
  const pod = await startProcess('bench-pod.js', [], pinLoad);
  if (process.argv.includes('--dashboard-viewer') || process.env.DASHBOARD_VIEWER === '1') return viewerCost(pod.port, script);
  const bare = await startProcess('bare-proxy.js', [pod.port], pinProxy);
  const layer = await startProcess('switchboard-proxy.js', [pod.port, 'pass-through'], pinProxy);
  const sb = await startProcess('switchboard-proxy.js', [pod.port], pinProxy);
  const pids: Record<Config, number> = { direct: Number(pod.pid), bare: Number(bare.pid), 'proxy-layer': Number(layer.pid), switchboard: Number(sb.pid) };
  const urls: Record<Config, string> = {
    direct: `http://127.0.0.1:${pod.port}`,
    bare: `http://127.0.0.1:${bare.port}`,
    'proxy-layer': `http://127.0.0.1:${layer.port}`,
    switchboard: `http://127.0.0.1:${sb.port}`,
  };
  const started = new Date().toISOString();
  const load = loadavg();
  // Warm-up: JIT, keep-alive pools. Two passes: one was not enough on a busy machine.
  for (let pass = 0; pass < 2; pass++) for (const c of CONFIGS) await wrk(urls[c], 2, script, pids[c]);

  const perConfig = <T>(): Record<Config, T[]> => ({ direct: [], bare: [], 'proxy-layer': [], switchboard: [] });
  const json = perConfig<WrkResult>();
  const single = perConfig<WrkResult>();
  const streams = perConfig<SseResult>();
  for (let r = 0; r < ROUNDS; r++) {
    const order = CONFIGS.map((_, i) => CONFIGS[(i + r) % CONFIGS.length]);
    for (const c of order) {
      const res = await wrk(urls[c], DURATION, script, pids[c]);
      json[c].push(res);
      const one = await wrk(urls[c], SINGLE_DURATION, script, pids[c], 1);
      single[c].push(one);
      process.stderr.write(
        `round ${r + 1} ${c}: ${res.rps.toFixed(0)} req/s p50 ${res.p50}ms p99 ${res.p99}ms errors ${res.errors} ` +
          `cpu ${res.cpuUsPerRequest}us/req; 1 connection p50 ${one.p50}ms\n`,
      );
    }
    for (const c of order) {
      const res = await sse(urls[c], SSE_STREAMS);
      streams[c].push(res);
      process.stderr.write(`round ${r + 1} ${c} sse: ttfc ${res.ttfcMedian.toFixed(3)}ms ttlc ${res.ttlcMedian.toFixed(3)}ms\n`);
    }
  }

  const jsonSummary = {} as Record<Config, JsonSummary>;
  const sseSummary = {} as Record<Config, SseSummary>;
  for (const c of CONFIGS) {
    const errors = json[c].reduce((a, b) => a + b.errors, 0);
    jsonSummary[c] = {
      rps: summary(json[c], 'rps'),
      p50Ms: summary(json[c], 'p50'),
      p99Ms: summary(json[c], 'p99'),
      oneConnectionP50Ms: summary(single[c], 'p50'),
      oneConnectionP99Ms: summary(single[c], 'p99'),
      cpuUsPerRequest: summary(json[c], 'cpuUsPerRequest'),
      errors,
      runs: json[c],
    };
    sseSummary[c] = { ttfcMs: summary(streams[c], 'ttfcMedian'), ttfcP99Ms: summary(streams[c], 'ttfcP99'), ttlcMs: summary(streams[c], 'ttlcMedian'), runs: streams[c] };
  }

  const j = jsonSummary;
  const s = sseSummary;
  // Paired per round (the runs were seconds apart), then the median over rounds: the machine's
  // drift between rounds cancels out of each pair.
  const ratio = (a: WrkResult[], b: WrkResult[]) => paired(a, b, (x, y) => x.rps / y.rps);
  const diff = <T>(a: T[], b: T[], f: keyof T) => paired(a, b, (x, y) => (x[f] as number) - (y[f] as number));
  const comparison = {
    rpsRatioVsBare: ratio(json.switchboard, json.bare),
    rpsRatioVsDirect: ratio(json.switchboard, json.direct),
    bareRpsRatioVsDirect: ratio(json.bare, json.direct),
    cpuPerRequestRatioVsBare: paired(json.switchboard, json.bare, (x, y) => x.cpuUsPerRequest / y.cpuUsPerRequest),
    proxyLayerRpsRatioVsBare: ratio(json['proxy-layer'], json.bare),
    proxyLayerCpuPerRequestRatioVsBare: paired(json['proxy-layer'], json.bare, (x, y) => x.cpuUsPerRequest / y.cpuUsPerRequest),
    addedCpuUsPerRequestOfCore: diff(json.switchboard, json['proxy-layer'], 'cpuUsPerRequest'),
    addedP50MsVsBare: diff(json.switchboard, json.bare, 'p50'),
    addedP99MsVsBare: diff(json.switchboard, json.bare, 'p99'),
    addedOneConnectionP50MsVsBare: diff(single.switchboard, single.bare, 'p50'),
    addedOneConnectionP50MsVsDirect: diff(single.switchboard, single.direct, 'p50'),
    addedTtfcMsVsBare: diff(streams.switchboard, streams.bare, 'ttfcMedian'),
    addedTtlcMsVsBare: diff(streams.switchboard, streams.bare, 'ttlcMedian'),
    addedTtfcMsVsDirect: diff(streams.switchboard, streams.direct, 'ttfcMedian'),
    addedTtlcMsVsDirect: diff(streams.switchboard, streams.direct, 'ttlcMedian'),
  };
  const targets = {
    rpsAtLeast85PctOfBare: comparison.rpsRatioVsBare.median >= 0.85,
    addedP50AtMost03Ms: comparison.addedP50MsVsBare.median <= 0.3,
    addedTtfcAtMost1Ms: comparison.addedTtfcMsVsBare.median <= 1,
  };
  const result = {
    benchmark: 'proxy',
    command: 'npm run bench:proxy',
    started,
    preliminary: 'shared 2-core machine with other work running; the lead reruns final numbers on a quiet machine',
    machine: machine(),
    loadAverageAtStart: load.map(round),
    director: sb.director,
    method: {
      json: `wrk -t1 -c${CONNECTIONS} -d${DURATION}s --latency, then -c1 -d${SINGLE_DURATION}s, POST /v1/completions (${body.length}-byte body), ${ROUNDS} rounds, rotating order`,
      sse: `${SSE_STREAMS} sequential streams of 100 chunks (1 ms apart) per round over one keep-alive connection, separate Node process`,
      processes: 'pod, bare proxy, Switchboard proxy, wrk and the SSE client each in their own process',
      pinning: pinning ? 'proxies on CPU 0; pod, wrk and SSE client on CPU 1 (taskset)' : 'none',
      cpuPerRequest: 'utime+stime of the serving process (pod for direct, else the proxy) from /proc over the 64-connection run, divided by requests',
    },
    json: jsonSummary,
    sse: sseSummary,
    comparison,
    targets,
  };
  writeJson(join(repo, 'bench', 'results', 'proxy.json'), result);
  writeResultsSection(join(repo, 'bench', 'RESULTS.md'), 'proxy', resultsMarkdown(result.director, j, s, comparison, targets));
  process.stdout.write(`${JSON.stringify({ comparison, targets, director: result.director }, null, 2)}\n`);
}

/**
 * `--dashboard-viewer`: one Switchboard proxy with the live dashboard on, measured with one viewer
 * connected to its event stream and with none, alternating which goes first each round; CPU per
 * request and req/s paired per round. One process for both, so nothing but the viewer differs
 * (two processes differ by a few percent on their own: JIT, heap layout). Also the process's idle
 * CPU with and without the viewer.
 */
async function viewerCost(podPort: string, script: string): Promise<void> {
  const sb = await startProcess('switchboard-proxy.js', [podPort, 'dashboard'], pinProxy);
  const url = `http://127.0.0.1:${sb.port}`;
  const pid = Number(sb.pid);
  const dashboardPort = Number(sb.dashboard);
  let frames = 0;
  let bytes = 0;
  /** Runs `f` with a viewer connected (after its first frame) or without. */
  const withViewer = async <T>(on: boolean, f: () => Promise<T>): Promise<T> => {
    if (!on) return f();
    const viewer = await connectViewer(dashboardPort);
    await new Promise((r) => setTimeout(r, 1100));
    try {
      return await f();
    } finally {
      frames += viewer.frames();
      bytes += viewer.bytes();
      viewer.close();
    }
  };
  const idleCpu = (on: boolean) =>
    withViewer(on, async () => {
      const before = cpuTimeUs(pid);
      await new Promise((r) => setTimeout(r, 10_000));
      return round(((cpuTimeUs(pid) - before) / 10e6) * 100);
    });
  const idle = { without: await idleCpu(false), with: await idleCpu(true) };
  for (let pass = 0; pass < 2; pass++) await wrk(url, 2, script, pid);
  const runs: Array<{ without: WrkResult; with: WrkResult }> = [];
  for (let r = 0; r < ROUNDS; r++) {
    const pair = {} as { without: WrkResult; with: WrkResult };
    for (const on of r % 2 === 0 ? [false, true] : [true, false]) {
      const res = await withViewer(on, () => wrk(url, DURATION, script, pid));
      pair[on ? 'with' : 'without'] = res;
      process.stderr.write(`round ${r + 1} ${on ? 'with viewer' : 'no viewer'}: ${res.rps.toFixed(0)} req/s cpu ${res.cpuUsPerRequest}us/req\n`);
    }
    runs.push(pair);
  }
  const cpuRatio = summary(runs.map((x) => ({ v: x.with.cpuUsPerRequest / x.without.cpuUsPerRequest })), 'v');
  const rpsRatio = summary(runs.map((x) => ({ v: x.with.rps / x.without.rps })), 'v');
  const cpu = (k: 'with' | 'without') => summary(runs.map((x) => x[k]), 'cpuUsPerRequest');
  const result = { benchmark: 'proxy --dashboard-viewer', started: new Date().toISOString(), machine: machine(), loadAverageAtStart: loadavg().map(round), rounds: ROUNDS, cpuRatio, rpsRatio, cpuUsPerRequest: { without: cpu('without'), with: cpu('with') }, idleCpuPercent: idle, viewerFrames: frames, viewerBytes: bytes, runs };
  writeJson(join(repo, 'bench', 'results', 'dashboard-proxy.json'), result);
  const f = (x: Spread) => `${x.median.toFixed(3)} (${x.min.toFixed(3)}–${x.max.toFixed(3)})`;
  writeResultsSection(
    join(repo, 'bench', 'RESULTS.md'),
    'dashboard-proxy',
    [
      '## Live dashboard cost, proxy (`npm run bench:proxy -- --dashboard-viewer`)',
      '',
      `${loadNote()}. ${machine()}. One Switchboard proxy process with the dashboard on; ${ROUNDS} rounds of wrk -c${CONNECTIONS} -d${DURATION}s with one viewer reading its event stream and with none, alternating which goes first; ratios paired per round, median (min–max).`,
      '',
      `- CPU per request with one viewer ÷ without: ${f(cpuRatio)} (${result.cpuUsPerRequest.without.median.toFixed(0)} → ${result.cpuUsPerRequest.with.median.toFixed(0)} µs)`,
      `- req/s with one viewer ÷ without: ${f(rpsRatio)}`,
      `- idle CPU of the process, % of one core (50 ms scrape loop included): ${idle.without} without a viewer, ${idle.with} with one`,
      `- the viewer read ${frames} frames (${(bytes / Math.max(1, frames) / 1024).toFixed(1)} KiB each on average)`,
    ].join('\n'),
  );
  process.stdout.write(`${JSON.stringify({ cpuRatio, rpsRatio, idle }, null, 2)}\n`);
}

/** This run's section of bench/RESULTS.md. */
function resultsMarkdown(
  director: string,
  j: Record<Config, JsonSummary>,
  s: Record<Config, SseSummary>,
  c: Record<string, Spread>,
  targets: Record<string, boolean>,
): string {
  const rows = CONFIGS.map(
    (k) =>
      `| ${k} | ${j[k].rps.median.toFixed(0)} (${j[k].rps.min.toFixed(0)}-${j[k].rps.max.toFixed(0)}) | ${j[k].p50Ms.median.toFixed(2)} | ${j[k].p99Ms.median.toFixed(2)} | ` +
      `${j[k].oneConnectionP50Ms.median.toFixed(3)} | ${j[k].cpuUsPerRequest.median.toFixed(0)} | ${s[k].ttfcMs.median.toFixed(3)} | ${s[k].ttlcMs.median.toFixed(2)} |`,
  );
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const signed = (n: number, digits: number) => `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;
  const spread = (x: Spread, digits: number) => `${signed(x.median, digits)} (${signed(x.min, digits)} to ${signed(x.max, digits)})`;
  const pct = (x: Spread) => `${(x.median * 100).toFixed(1)}% (${(x.min * 100).toFixed(0)}-${(x.max * 100).toFixed(0)}%)`;
  return [
    '## Proxy round trip (`npm run bench:proxy`)',
    '',
    `${loadNote()}. ${machine()}. Director: **${director}**.`,
    `Load: wrk (one thread, own process) at ${CONNECTIONS} connections and at 1 connection; SSE: sequential streams of 100 chunks timed by a separate Node process. ` +
      `Pod, bare proxy and the two Switchboard proxies each run in their own process${pinProxy.length > 0 ? ' (proxies pinned to CPU 0, pod and load to CPU 1)' : ''}. ` +
      'Medians over rounds (min-max); per-round numbers in `bench/results/proxy.json`.',
    '',
    `| config | req/s @${CONNECTIONS} | p50 ms @${CONNECTIONS} | p99 ms @${CONNECTIONS} | p50 ms @1 | CPU µs/req | SSE first chunk ms | SSE last chunk ms |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    'Switchboard against the bare proxy, paired per round:',
    `- req/s: ${pct(c.rpsRatioVsBare)} of the bare proxy (target >= 85%: ${mark(targets.rpsAtLeast85PctOfBare)}); ` +
      `CPU per request: ${c.cpuPerRequestRatioVsBare.median.toFixed(2)}x the bare proxy's (${c.cpuPerRequestRatioVsBare.min.toFixed(2)}-${c.cpuPerRequestRatioVsBare.max.toFixed(2)}), the steadier estimate of the same cost`,
    `- p50 @${CONNECTIONS}: ${spread(c.addedP50MsVsBare, 3)} ms (target <= 0.3 ms: ${mark(targets.addedP50AtMost03Ms)}); p50 @1: ${spread(c.addedOneConnectionP50MsVsBare, 3)} ms`,
    `- first SSE chunk: ${spread(c.addedTtfcMsVsBare, 3)} ms (target <= 1 ms: ${mark(targets.addedTtfcAtMost1Ms)}); last chunk: ${spread(c.addedTtlcMsVsBare, 3)} ms`,
    `- split: the front door alone (\`proxy-layer\`, pass-through director) reaches ${pct(c.proxyLayerRpsRatioVsBare)} of the bare proxy's req/s at ` +
      `${c.proxyLayerCpuPerRequestRatioVsBare.median.toFixed(2)}x its CPU per request; the core (scheduling, accounting, telemetry) adds ${c.addedCpuUsPerRequestOfCore.median.toFixed(0)} µs of CPU per request`,
    `- bare proxy vs direct: ${pct(c.bareRpsRatioVsDirect)} of the direct req/s (two HTTP hops on the same 2 cores)`,
  ].join('\n');
}

try {
  await main();
} finally {
  for (const child of children) child.kill();
}
