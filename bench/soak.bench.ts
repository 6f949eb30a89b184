/**
 * `npm run bench:soak [-- --minutes N] [-- --workers N]`: a long run of mixed load through both
 * front doors of a real `switchboard serve` process (its own process, so its memory is measured
 * alone) against a simulated vLLM fleet with standing and timed faults (see support/soak-fleet.ts).
 *
 * Reports requests served, outcomes by door and errors by cause, requests lost (must be 0), and
 * Switchboard's live heap (after a forced full GC), RSS and handle counts after warm-up and at the
 * end (flat: live-heap growth under 10%), plus its own counters. Writes bench/results/soak.json
 * and the soak section of bench/RESULTS.md. Exit code 1 when a request was lost or the heap grew.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvoyExtProcClient } from '../test/support/envoy-client.js';
import { EnvoyEmulator } from '../test/support/envoy-emulator.js';
import { loadNote, machine, writeJson, writeResultsSection } from './lib/stats.js';
import { metricsPage, promValue, sampleProcess, type ProcessSample } from './support/process-stats.js';
import { SoakFleet } from './support/soak-fleet.js';
import { runWorkers, Tally } from './support/soak-load.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (the script runs from dist-bench/bench/). */
const repo = join(here, '..', '..');
const MAX_BODY = 1024 * 1024;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

/** Starts `switchboard serve` (compiled) with the fleet as static endpoints; resolves with its ports. */
function startSwitchboard(endpoints: string[]): Promise<{ child: ChildProcess; grpcPort: number; proxyUrl: string; metricsPort: number }> {
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      join(here, 'support', 'gc-on-signal.js'),
      join(repo, 'dist-bench', 'src', 'cli.js'),
      'serve',
      `--endpoints=${endpoints.join(',')}`,
      '--bind-address=127.0.0.1',
      '--grpc-port=0',
      '--grpc-health-port=0',
      '--metrics-port=0',
      '--proxy-port=0',
      '--secure-serving=false',
      '--log-pretty=false',
      '--log-level=info',
      `--max-body-bytes=${MAX_BODY}`,
      `--proxy-max-body-bytes=${MAX_BODY}`,
      '--proxy-first-byte-timeout=10s',
      '--proxy-idle-stream-timeout=10s',
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let buf = '';
    let grpcPort = 0;
    child.once('exit', (code) => reject(new Error(`switchboard exited with ${code}`)));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (t: string) => {
      buf += t;
      // The ports come from the startup log lines; later lines (warnings) are read and dropped.
      for (const line of buf.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const l = JSON.parse(line) as Record<string, unknown>;
          if (l.msg === 'ext_proc server listening') grpcPort = Number(l.port);
          if (l.msg === 'switchboard started') resolve({ child, grpcPort: grpcPort || Number(l.grpcPort), proxyUrl: String(l.proxyUrl), metricsPort: Number(l.metricsPort) });
          if (process.env.SOAK_LOG !== undefined && Number(l.level) >= 40) process.stderr.write(`  switchboard: ${line.slice(0, 400)}\n`);
        } catch {
          // a partial line; the next chunk completes it
        }
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
  });
}

const SB_COUNTERS = [
  'switchboard_proxy_retries_total',
  'switchboard_proxy_upstream_failures_total',
  'switchboard_proxy_errors_total',
  'switchboard_proxy_client_cancels_total',
  'switchboard_extproc_streams_total',
  'switchboard_extproc_protocol_errors_total',
  'switchboard_extproc_local_rejections_total',
  'switchboard_rejected_input_total',
  'switchboard_metrics_scrapes_total',
  'inference_objective_request_total',
  'inference_objective_request_error_total',
];

/** Per-label breakdown of a few counters, from the final metrics page. */
function breakdown(page: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of page.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = line.slice(name.length + 1, line.indexOf('}'));
    out[labels] = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

async function main(): Promise<void> {
  const minutes = arg('minutes', 10);
  const workers = Math.round(arg('workers', 12));
  const durationMs = minutes * 60_000;
  // Warm-up: the first 15% (at most a minute); then the baseline is taken.
  const warmupMs = Math.min(60_000, durationMs * 0.15);
  const t0 = performance.now();
  const loadStart = loadavg();

  const fleet = await SoakFleet.start(t0);
  const sb = await startSwitchboard(fleet.endpoints());
  process.stderr.write(`soak: ${minutes} min, ${workers} workers per door, switchboard pid ${sb.child.pid}, ${fleet.endpoints().length} sim pods\n`);
  const envoy = new EnvoyExtProcClient({ address: `127.0.0.1:${sb.grpcPort}`, waitLimitMs: 30_000 });
  const emulator = new EnvoyEmulator(envoy, { upstreamTimeoutMs: 30_000 });
  const idle = await sampleProcess(sb.child, sb.metricsPort, t0, true);

  const tally = new Tally();
  let stopping = false;
  const stop = () => stopping || performance.now() - t0 > durationMs;
  fleet.startChaos(Math.max(10_000, durationMs / 12), Math.min(8000, Math.max(3000, durationMs / 60)));
  const targets = { proxyUrl: sb.proxyUrl, emulator, model: fleet.modelName, maxBodyBytes: MAX_BODY };
  const load = Promise.all([runWorkers('proxy', workers, targets, tally, stop, 1), runWorkers('extproc', workers, targets, tally, stop, 2)]);

  // Every 10 s after warm-up: live heap right after a full GC, while the load runs.
  const samples: ProcessSample[] = [];
  const sampler = setInterval(() => {
    if (performance.now() - t0 < warmupMs) return;
    void sampleProcess(sb.child, sb.metricsPort, t0, true).then((s) => {
      samples.push(s);
      const done = tally.total();
      process.stderr.write(`  t=${s.t.toFixed(0)}s requests=${done} lost=${tally.total(undefined, 'lost')} heap=${(s.heapUsedBytes / 2 ** 20).toFixed(1)}MiB handles=${s.handles}\n`);
    });
  }, 10_000);

  await load;
  stopping = true;
  clearInterval(sampler);
  const end = await sampleProcess(sb.child, sb.metricsPort, t0, true);
  await new Promise((r) => setTimeout(r, 3000));
  const afterIdle = await sampleProcess(sb.child, sb.metricsPort, t0, true);
  const page = await metricsPage(sb.metricsPort);
  const elapsedS = (performance.now() - t0) / 1000;

  envoy.close();
  await emulator.close();
  sb.child.kill('SIGTERM');
  const exitCode = await new Promise<number | null>((r) => sb.child.once('exit', (c) => r(c)));
  await fleet.stop();

  // Growth: the mean of the last three samples under load against the first three after warm-up.
  const mean = (xs: ProcessSample[]) => xs.reduce((a, x) => a + x.heapUsedBytes, 0) / Math.max(1, xs.length);
  const first = samples.slice(0, 3);
  const last = samples.slice(-3);
  const base = first[0] ?? idle;
  const lastUnderLoad = samples[samples.length - 1] ?? end;
  const heapGrowthPct = samples.length >= 2 ? ((mean(last) - mean(first)) / mean(first)) * 100 : 0;
  const lost = tally.total(undefined, 'lost');
  const unexpected = tally.total(undefined, 'unexpected');
  const counters = Object.fromEntries(SB_COUNTERS.map((n) => [n, promValue(page, n)]));
  const result = {
    machine: machine(),
    loadAverage: { start: loadStart.map((x) => +x.toFixed(2)), end: loadavg().map((x) => +x.toFixed(2)) },
    command: `npm run bench:soak -- --minutes ${minutes} --workers ${workers}`,
    minutes,
    elapsedSeconds: +elapsedS.toFixed(1),
    workersPerDoor: workers,
    requests: { total: tally.total(), perSecond: +(tally.total() / elapsedS).toFixed(1), byDoor: tally.counts },
    lost,
    unexpected,
    errorsByCause: tally.causes,
    lostExamples: tally.examples,
    chaos: fleet.events,
    memory: {
      idleBeforeLoad: idle,
      afterWarmup: base,
      lastUnderLoad,
      end,
      idleAfterLoad: afterIdle,
      firstThreeMeanBytes: Math.round(mean(first)),
      lastThreeMeanBytes: Math.round(mean(last)),
      liveHeapGrowthPct: +heapGrowthPct.toFixed(2),
      series: samples,
    },
    switchboard: {
      counters,
      proxyUpstreamFailures: breakdown(page, 'switchboard_proxy_upstream_failures_total'),
      scrapes: breakdown(page, 'switchboard_metrics_scrapes_total'),
      rejectedInput: breakdown(page, 'switchboard_rejected_input_total'),
      exitCodeAfterSigterm: exitCode,
    },
    pass: { noLostRequests: lost === 0, noUnexpectedOutcomes: unexpected === 0, heapFlat: heapGrowthPct < 10, cleanExit: exitCode === 0 },
  };
  writeJson(join(repo, 'bench', 'results', 'soak.json'), result);
  writeResultsSection(join(repo, 'bench', 'RESULTS.md'), 'soak', report(result));
  process.stdout.write(report(result) + '\n');
  if (!Object.values(result.pass).every(Boolean)) process.exitCode = 1;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

function report(r: {
  machine: string;
  loadAverage: { start: number[]; end: number[] };
  command: string;
  minutes: number;
  elapsedSeconds: number;
  requests: { total: number; perSecond: number; byDoor: Record<string, Record<string, number>> };
  lost: number;
  unexpected: number;
  errorsByCause: Record<string, number>;
  chaos: Array<{ t: number; event: string }>;
  memory: {
    idleBeforeLoad: ProcessSample;
    afterWarmup: ProcessSample;
    lastUnderLoad: ProcessSample;
    end: ProcessSample;
    idleAfterLoad: ProcessSample;
    liveHeapGrowthPct: number;
    firstThreeMeanBytes: number;
    lastThreeMeanBytes: number;
    series: ProcessSample[];
  };
  switchboard: { counters: Record<string, number>; proxyUpstreamFailures: Record<string, number>; scrapes: Record<string, number>; exitCodeAfterSigterm: number | null };
  pass: Record<string, boolean>;
}): string {
  const outcomes = [...new Set(Object.values(r.requests.byDoor).flatMap((d) => Object.keys(d)))].sort();
  const rows = outcomes.map((o) => `| ${o} | ${r.requests.byDoor.proxy[o] ?? 0} | ${r.requests.byDoor.extproc[o] ?? 0} |`);
  const causes = Object.entries(r.errorsByCause)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 14)
    .map(([c, n]) => `| ${c.replace(/\|/g, '/')} | ${n} |`);
  const m = r.memory;
  const mem = (label: string, s: ProcessSample) => `| ${label} | ${s.t.toFixed(0)} s | ${mib(s.heapUsedBytes)} | ${mib(s.rssBytes)} | ${s.handles} | ${s.resources} |`;
  return `## Soak (\`npm run bench:soak\`)

Mixed load through both doors of a real \`switchboard serve\` process (the proxy over HTTP; ext_proc
through an Envoy emulator that sends the frames, then makes the upstream request to the picked pod)
against 4 simulated vLLM pods with standing faults (pod 1: 20% failing and slow metrics; pod 2: 5%
503s and 3% streams dropped; pod 3: 3% 500s and metrics 500 ms stale; pod 0 healthy) and timed chaos
(pod 3 answering only 503, pod 2 crashing and restarting). The mix: completions, streamed chats with
usage, LoRA adapters, unknown models, clients that leave mid-stream, and ~10% hostile bodies (bad
JSON, duplicate \`model\`, 5,000-deep nesting, form content type, bodies over the 1 MiB limit).
Live heap is read right after a forced full GC in the Switchboard process. \`refused_connection_broke\`:
an oversized or malformed request that had to be refused, whose client saw its connection break
(EPIPE while still uploading, or the ext_proc stream ending) instead of reading the 413/400. ${loadNote()}
(${r.loadAverage.end.join(' / ')} at the end).

- Machine: ${r.machine}
- Command: \`${r.command}\` (ran ${r.elapsedSeconds} s)
- Requests: **${r.requests.total}** (${r.requests.perSecond}/s), lost: **${r.lost}**, unexpected outcomes: **${r.unexpected}**
- Live heap under load (after a full GC, every 10 s from the end of warm-up; ${m.series.length} samples): first three ${mib(m.firstThreeMeanBytes)} → last three ${mib(m.lastThreeMeanBytes)} (**${m.liveHeapGrowthPct >= 0 ? '+' : ''}${m.liveHeapGrowthPct}%**, limit +10%); range ${mib(Math.min(...m.series.map((x) => x.heapUsedBytes)))}–${mib(Math.max(...m.series.map((x) => x.heapUsedBytes)))}
- Checks: ${Object.entries(r.pass).map(([k, v]) => `${k} ${v ? 'yes' : 'NO'}`).join(', ')}; exit code after SIGTERM ${r.switchboard.exitCodeAfterSigterm}

| outcome | proxy | ext_proc |
|---|---:|---:|
${rows.join('\n')}

| error or refusal, by cause (top 14) | count |
|---|---:|
${causes.join('\n')}

| Switchboard process | at | live heap | RSS | handles | async resources |
|---|---:|---:|---:|---:|---:|
${mem('idle, before load', m.idleBeforeLoad)}
${mem('after warm-up (under load)', m.afterWarmup)}
${mem('last sample under load', m.lastUnderLoad)}
${mem('load stopped', m.end)}
${mem('idle, 3 s after load', m.idleAfterLoad)}

Switchboard's own counters at the end: proxy retries ${r.switchboard.counters.switchboard_proxy_retries_total}, upstream failures ${JSON.stringify(r.switchboard.proxyUpstreamFailures)}, scrapes ${JSON.stringify(r.switchboard.scrapes)}, rejected input ${r.switchboard.counters.switchboard_rejected_input_total}, ext_proc streams ${r.switchboard.counters.switchboard_extproc_streams_total}.
Chaos events: ${r.chaos.length} (${r.chaos.filter((e) => e.event.includes('503')).length} outages of pod 3, ${r.chaos.filter((e) => e.event.includes('crashed')).length} crashes of pod 2).`;
}

main().catch((err) => {
  process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
