/**
 * Proxy round-trip benchmark: three configurations against the same pod, in one run.
 *
 *   direct       load generator -> pod
 *   bare         load generator -> fastify + undici forwarding proxy (the floor) -> pod
 *   switchboard  load generator -> Switchboard's proxy front door -> pod
 *
 * Small JSON completions at 64 connections are driven by `wrk` (C, one thread, its own process,
 * so the load generator costs little of the 2 cores); streamed completions of 100 SSE chunks
 * are timed one at a time by `sse-client.js` in its own process. Pod and proxies each run in
 * their own process too. Rounds rotate the order of configurations; each result is the median
 * of the rounds with min/max as spread.
 *
 * Writes bench/results/proxy.json and the proxy section of bench/RESULTS.md.
 * Environment: ROUNDS (3), DURATION seconds per wrk run (5), SSE_STREAMS per round (30).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DURATION = Number(process.env.DURATION ?? 5);
const SSE_STREAMS = Number(process.env.SSE_STREAMS ?? 30);
const CONNECTIONS = 64;
const CONFIGS = ['direct', 'bare', 'switchboard'] as const;
type Config = (typeof CONFIGS)[number];

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
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

/** Starts `script` (compiled, beside this file) and resolves with what it printed as `key=value`. */
function startProcess(script: string, args: string[]): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'support', script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const fields: Record<string, string> = {};
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      for (const line of buf.split('\n').slice(0, -1)) {
        const [k, v] = line.split('=');
        fields[k] = v;
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
      if (fields.port !== undefined && (script !== 'switchboard-proxy.js' || fields.director !== undefined)) resolve(fields);
    });
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
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
  return { rps, p50: pct('50'), p99: pct('99'), errors: non2xx + socketErrors };
}

async function wrk(url: string, seconds: number, script: string): Promise<WrkResult> {
  const { stdout } = await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', script, `${url}/v1/completions`]);
  return parseWrk(stdout);
}

async function sse(url: string, count: number): Promise<SseResult> {
  const { stdout } = await run(process.execPath, [join(here, 'support', 'sse-client.js'), url, String(count)]);
  const { ttfc, ttlc } = JSON.parse(stdout) as { ttfc: number[]; ttlc: number[] };
  return { ttfcMedian: quantile(ttfc, 0.5), ttfcP99: quantile(ttfc, 0.99), ttlcMedian: quantile(ttlc, 0.5), ttlcP99: quantile(ttlc, 0.99) };
}

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** Median and min/max of one field over the rounds. */
function summary<T>(runs: T[], field: keyof T): Spread {
  const v = runs.map((r) => r[field] as number);
  return { median: round(quantile(v, 0.5)), min: round(Math.min(...v)), max: round(Math.max(...v)) };
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

  const pod = await startProcess('bench-pod.js', []);
  const bare = await startProcess('bare-proxy.js', [pod.port]);
  const sb = await startProcess('switchboard-proxy.js', [pod.port]);
  const urls: Record<Config, string> = {
    direct: `http://127.0.0.1:${pod.port}`,
    bare: `http://127.0.0.1:${bare.port}`,
    switchboard: `http://127.0.0.1:${sb.port}`,
  };
  const started = new Date().toISOString();
  const load = loadavg();
  for (const c of CONFIGS) await wrk(urls[c], 2, script); // warm-up: JIT, keep-alive pools

  const json: Record<Config, WrkResult[]> = { direct: [], bare: [], switchboard: [] };
  const streams: Record<Config, SseResult[]> = { direct: [], bare: [], switchboard: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = CONFIGS.map((_, i) => CONFIGS[(i + r) % CONFIGS.length]);
    for (const c of order) {
      const res = await wrk(urls[c], DURATION, script);
      json[c].push(res);
      process.stderr.write(`round ${r + 1} ${c}: ${res.rps.toFixed(0)} req/s p50 ${res.p50}ms p99 ${res.p99}ms errors ${res.errors}\n`);
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
    jsonSummary[c] = { rps: summary(json[c], 'rps'), p50Ms: summary(json[c], 'p50'), p99Ms: summary(json[c], 'p99'), errors, runs: json[c] };
    sseSummary[c] = { ttfcMs: summary(streams[c], 'ttfcMedian'), ttfcP99Ms: summary(streams[c], 'ttfcP99'), ttlcMs: summary(streams[c], 'ttlcMedian'), runs: streams[c] };
  }

  const j = jsonSummary;
  const s = sseSummary;
  const comparison = {
    rpsRatioVsBare: round(j.switchboard.rps.median / j.bare.rps.median),
    rpsRatioVsDirect: round(j.switchboard.rps.median / j.direct.rps.median),
    bareRpsRatioVsDirect: round(j.bare.rps.median / j.direct.rps.median),
    addedP50MsVsBare: round(j.switchboard.p50Ms.median - j.bare.p50Ms.median),
    addedP99MsVsBare: round(j.switchboard.p99Ms.median - j.bare.p99Ms.median),
    addedTtfcMsVsBare: round(s.switchboard.ttfcMs.median - s.bare.ttfcMs.median),
    addedTtlcMsVsBare: round(s.switchboard.ttlcMs.median - s.bare.ttlcMs.median),
    addedTtfcMsVsDirect: round(s.switchboard.ttfcMs.median - s.direct.ttfcMs.median),
    addedTtlcMsVsDirect: round(s.switchboard.ttlcMs.median - s.direct.ttlcMs.median),
  };
  const targets = {
    rpsAtLeast85PctOfBare: comparison.rpsRatioVsBare >= 0.85,
    addedP50AtMost03Ms: comparison.addedP50MsVsBare <= 0.3,
    addedTtfcAtMost1Ms: comparison.addedTtfcMsVsBare <= 1,
  };
  const result = {
    benchmark: 'proxy',
    command: 'npm run bench:proxy',
    started,
    preliminary: 'shared 2-core machine with other work running; the lead reruns final numbers on a quiet machine',
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverageAtStart: load.map(round) },
    director: sb.director,
    method: {
      json: `wrk -t1 -c${CONNECTIONS} -d${DURATION}s --latency, POST /v1/completions (${body.length}-byte body), ${ROUNDS} rounds, rotating order`,
      sse: `${SSE_STREAMS} sequential streams of 100 chunks (1 ms apart) per round over one keep-alive connection, separate Node process`,
      processes: 'pod, bare proxy, Switchboard proxy, wrk and the SSE client each in their own process',
    },
    json: jsonSummary,
    sse: sseSummary,
    comparison,
    targets,
  };
  mkdirSync(join(repo, 'bench', 'results'), { recursive: true });
  writeFileSync(join(repo, 'bench', 'results', 'proxy.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeResultsSection(result.director, j, s, comparison, targets);
  process.stdout.write(`${JSON.stringify({ comparison, targets, director: result.director }, null, 2)}\n`);
}

/** Replaces the proxy section of bench/RESULTS.md (between its markers) with this run's table. */
function writeResultsSection(
  director: string,
  j: Record<Config, JsonSummary>,
  s: Record<Config, SseSummary>,
  c: Record<string, number>,
  targets: Record<string, boolean>,
): void {
  const file = join(repo, 'bench', 'RESULTS.md');
  const begin = '<!-- proxy:begin -->';
  const end = '<!-- proxy:end -->';
  const rows = CONFIGS.map(
    (k) => `| ${k} | ${j[k].rps.median.toFixed(0)} | ${j[k].p50Ms.median.toFixed(2)} | ${j[k].p99Ms.median.toFixed(2)} | ${s[k].ttfcMs.median.toFixed(3)} | ${s[k].ttlcMs.median.toFixed(2)} |`,
  );
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const signed = (n: number, digits: number) => `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;
  const section = [
    begin,
    '## Proxy round trip (`npm run bench:proxy`)',
    '',
    `Preliminary: shared 2-core machine, other work running; ${cpus()[0]?.model ?? ''}, Node ${process.version}. Director: **${director}**.`,
    'Medians of the rounds; spreads and per-round numbers in `bench/results/proxy.json`.',
    '',
    '| config | req/s | p50 ms | p99 ms | SSE first chunk ms | SSE last chunk ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Switchboard vs bare proxy: ${(c.rpsRatioVsBare * 100).toFixed(1)}% of its req/s (target >= 85%: ${mark(targets.rpsAtLeast85PctOfBare)}), ` +
      `p50 ${signed(c.addedP50MsVsBare, 3)} ms (target <= 0.3 ms: ${mark(targets.addedP50AtMost03Ms)}), ` +
      `first SSE chunk ${signed(c.addedTtfcMsVsBare, 3)} ms (target <= 1 ms: ${mark(targets.addedTtfcAtMost1Ms)}), last chunk ${signed(c.addedTtlcMsVsBare, 3)} ms.`,
    `Bare proxy vs direct: ${(c.bareRpsRatioVsDirect * 100).toFixed(1)}% of the direct req/s (two HTTP hops on the same 2 cores).`,
    end,
  ].join('\n');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const next = old.includes(begin) ? old.slice(0, old.indexOf(begin)) + section + old.slice(old.indexOf(end) + end.length) : `${old.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}

try {
  await main();
} finally {
  for (const child of children) child.kill();
}
