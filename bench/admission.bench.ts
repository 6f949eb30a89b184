/**
 * Admission hot path: what each admission feature adds to one request through the real
 * director (inspect, rewrite, admit, schedule, open the lifecycle, finish), and what a request
 * that waited in flow control costs to release and schedule.
 *
 * Baseline in the same process: the same director with no admission at all.
 *
 *   npm run bench:admission [-- --quick]
 * Writes bench/results/admission.json and the admission section of bench/RESULTS.md.
 */
import { parseConfig } from '../src/config/load.js';
import { RequestDirector } from '../src/director/director.js';
import type { InferenceRequest, RoutedDecision } from '../src/director/types.js';
import { EMPTY_SET } from '../src/pool/endpoint.js';
import { createSwitchboard, type Switchboard } from '../src/switchboard.js';
import { seededRandom } from '../src/util/random.js';
import { loadNote, machine, median, percentile, spread, writeJson, writeResultsSection } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 2 : 5;
const PER_ROUND = quick ? 2_000 : 20_000;
const QUEUED = quick ? 1_000 : 10_000;

const BASE = `plugins: [{type: queue-scorer}, {type: kv-cache-utilization-scorer}, {type: max-score-picker}]
objectives: [{name: premium, priority: 10}]
`;
const GUARD = `promptGuards:
- type: local-policy
  maxPromptBytes: 64Ki
  denyPatterns: ['ignore (all|previous) instructions', '\\b\\d{3}-\\d{2}-\\d{4}\\b']
  allowedModels: [{objective: premium, models: [m]}, {objective: '*', models: ['*']}]
`;
const BUDGET = 'tokenBudgets: {default: {inputTokensPerMinute: 1e12, outputTokensPerMinute: 1e12}}\n';
const FLOW = 'featureGates: [flowControl]\nflowControl: {defaultRequestTTL: 30s}\n';

const CASES: Array<{ name: string; config: string | null }> = [
  { name: 'no admission (baseline)', config: null },
  { name: 'legacy shedding (default)', config: '' },
  { name: 'flow control, queue empty', config: FLOW },
  { name: 'local-policy guard', config: GUARD },
  { name: 'token budget', config: BUDGET },
  { name: 'all three', config: FLOW + GUARD + BUDGET },
];

/** 1 KB chat bodies with distinct prompts. */
function bodies(n: number): Buffer[] {
  const rng = seededRandom(9);
  return Array.from({ length: n }, (_, i) =>
    Buffer.from(JSON.stringify({ model: 'm', messages: [{ role: 'system', content: 'You are terse. '.repeat(30) }, { role: 'user', content: `Question ${i} ${rng().toString(36)} `.repeat(20) }] })),
  );
}

function core(config: string, clock: { now(): number }, base = BASE): Switchboard {
  const sb = createSwitchboard({ config: parseConfig(base + config), clock, rng: seededRandom(1), scrape: false, telemetry: true });
  for (let i = 0; i < 8; i++) sb.pool.upsert({ address: `10.0.0.${i + 1}`, port: 8000 });
  scrape(sb);
  return sb;
}

/** What a scrape round does to the pool (the bench has no scrape loop; the detector needs fresh pages). */
function scrape(sb: Switchboard): void {
  sb.pool.endpoints().forEach((ep, i) => {
    sb.pool.scrapeStarted(ep);
    sb.pool.recordMetrics(ep, {
      waitingQueueSize: i % 3,
      runningRequests: 4,
      kvCacheUsage: 0.2,
      activeAdapters: EMPTY_SET,
      waitingAdapters: EMPTY_SET,
      maxAdapters: 0,
      cacheBlockSize: 16,
      cacheNumBlocks: 1000,
    });
  });
}

const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] });
const request = (body: Buffer, i: number): InferenceRequest => ({
  requestId: String(i),
  path: '/v1/chat/completions',
  headers: headers({ 'x-gateway-inference-objective': i % 4 === 0 ? 'premium' : '', 'x-gateway-inference-fairness-id': `tenant-${i % 5}` }),
  body,
  subset: null,
});

/** Per-request ns (p50 of each round) through `handleRequest` + finish. */
async function perRequest(config: string | null, inputs: Buffer[]): Promise<{ p50: number[]; p99: number[] }> {
  const clock = { now: () => 1_000_000 };
  const sb = core(config ?? '', clock);
  const director = config === null ? new RequestDirector({ pool: sb.pool, scheduler: sb.scheduler, telemetry: sb.telemetry, objectives: sb.objectives, rewriter: sb.rewriter, admission: null, parser: 'openai', rng: seededRandom(1) }) : sb.director;
  const usage = Buffer.from('{"usage":{"prompt_tokens":300,"completion_tokens":20,"total_tokens":320}}');
  const p50: number[] = [];
  const p99: number[] = [];
  const samples = new Float64Array(PER_ROUND);
  for (let round = -1; round < ROUNDS; round++) {
    for (let i = 0; i < PER_ROUND; i++) {
      if ((i & 63) === 0) scrape(sb);
      const t = process.hrtime.bigint();
      const d = (await director.handleRequest(request(inputs[i % inputs.length], i))) as RoutedDecision;
      d.lifecycle.responseHeaders(200, 'application/json');
      d.lifecycle.responseBody(usage, true);
      d.lifecycle.finish('ok');
      samples[i] = Number(process.hrtime.bigint() - t);
    }
    if (round < 0) continue; // warm-up
    const sorted = Float64Array.from(samples).sort();
    p50.push(percentile(sorted, 50));
    p99.push(percentile(sorted, 99));
  }
  await sb.close();
  return { p50, p99 };
}

/**
 * Release cost: `QUEUED` requests wait behind a full pool (concurrency detector, one slot per
 * endpoint); each finish releases the next, which the director then schedules. ns per request.
 */
async function releaseCost(inputs: Buffer[]): Promise<number> {
  const clock = { now: () => 1_000_000 };
  const sb = core(
    `featureGates: [flowControl]
plugins: [{type: queue-scorer}, {type: max-score-picker}, {type: concurrency-detector, parameters: {maxConcurrency: 1}}]
saturationDetector: {pluginRef: concurrency-detector}
flowControl: {defaultRequestTTL: 0, maxRequests: 0}
`,
    clock,
    '',
  );
  const running: RoutedDecision[] = [];
  for (let i = 0; i < 8; i++) running.push((await sb.director.handleRequest(request(inputs[i], i))) as RoutedDecision);
  const waiting = Array.from({ length: QUEUED }, (_, i) => sb.director.handleRequest(request(inputs[i % inputs.length], i)));
  const t = process.hrtime.bigint();
  for (const w of waiting) {
    running.shift()!.lifecycle.finish('ok');
    running.push((await w) as RoutedDecision);
  }
  const ns = Number(process.hrtime.bigint() - t) / QUEUED;
  for (const d of running) d.lifecycle.finish('ok');
  await sb.close();
  return ns;
}

const us = (ns: number) => (ns / 1000).toFixed(2);

async function main(): Promise<void> {
  const inputs = bodies(512);
  const rows: Array<{ name: string; p50Ns: number; p50Spread: string; p99Ns: number }> = [];
  for (const c of CASES) {
    const r = await perRequest(c.config, inputs);
    rows.push({ name: c.name, p50Ns: median(r.p50), p50Spread: spread(r.p50.map((x) => x / 1000)), p99Ns: median(r.p99) });
    process.stdout.write(`${c.name.padEnd(28)} p50 ${us(median(r.p50)).padStart(7)} µs [${spread(r.p50.map((x) => x / 1000))}]  p99 ${us(median(r.p99))} µs\n`);
  }
  const release = await releaseCost(inputs);
  process.stdout.write(`queued request, release + schedule: ${us(release)} µs each (${QUEUED} queued)\n`);
  const base = rows[0].p50Ns;
  const out = (p: string) => new URL(p, import.meta.url).pathname.replace('/dist-bench/bench/', '/bench/');
  writeJson(out('./results/admission.json'), { machine: machine(), command: 'npm run bench:admission', date: new Date().toISOString(), rounds: ROUNDS, perRound: PER_ROUND, cases: rows, releaseNsPerQueuedRequest: release });
  writeResultsSection(
    out('./RESULTS.md'),
    'admission',
    `## Admission overhead (\`npm run bench:admission\`)

One request through the real director per sample: inspect a 1 KB chat body, admit, schedule over
8 endpoints (queue + KV scorers), open the lifecycle, feed a usage body, finish. Same process,
same bodies; ${ROUNDS} rounds of ${PER_ROUND.toLocaleString('en-US')} requests after a warm-up round; median of the
round p50s with their spread, and the median round p99. ${loadNote()}.

Machine: ${machine()}. Run: ${new Date().toISOString().slice(0, 10)}.

| admission | p50 µs [spread] | p99 µs | p50 vs baseline |
|---|---|---|---|
${rows.map((r) => `| ${r.name} | ${us(r.p50Ns)} [${r.p50Spread}] | ${us(r.p99Ns)} | ${(r.p50Ns / base).toFixed(2)}× |`).join('\n')}

A request that waited in flow control costs ${us(release)} µs to release and schedule (finish of a
running request → dispatch cycle → director continues → lifecycle opens), measured over
${QUEUED.toLocaleString('en-US')} queued requests behind a full pool with the concurrency detector.
`,
  );
}

void main();
