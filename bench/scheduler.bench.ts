import { registerBuiltinPlugins } from '../src/builtin-plugins.js';
/**
 * Hot-path benchmark: the per-request cost of one complete pick — inspect the body (find the
 * model and the prompt), hash the prompt's prefix blocks, filter, score, pick, and record the
 * prefix in the index — for 8 to 1024 endpoints and prompts of 1 KB to 220 KB.
 *
 * Baselines in the same process: the same path with a round-robin profile (the machinery
 * without scoring), and, for the body, a full JSON.parse + JSON.stringify as the Go EPP does.
 *
 *   npm run bench:scheduler [-- --quick] [-- --config FILE]
 * `--config FILE` benches the scheduling sections of FILE instead of the default profile (to
 * compare a profile of your own, or to hold the profile fixed across two builds).
 * Every case runs in ROUNDS (5) rounds, interleaved, each on a fresh pool and index; the table
 * shows the median of the round p50s with their min–max, since single runs on this machine move
 * by ±30% from one run to the next.
 * Writes bench/results/scheduler.json and the scheduler section of bench/RESULTS.md.
 */
import { readFileSync } from 'node:fs';
import { parseConfig } from '../src/config/load.js';
import { DEFAULT_CONFIG_YAML } from '../src/config/defaults.js';
import { inspectRequest, type RequestView } from '../src/request/inspect.js';
import { buildScheduling } from '../src/scheduling/build.js';
import type { SchedulingRequest } from '../src/scheduling/framework/cycle.js';
import { Scheduler } from '../src/scheduling/scheduler.js';
import { seededRandom } from '../src/util/random.js';
import { EndpointPool } from '../src/pool/pool.js';
import { EMPTY_SET } from '../src/pool/endpoint.js';
import { isSwitchboardError } from '../src/errors.js';
import { loadNote, machine, median, percentile, writeJson, writeResultsSection } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const ENDPOINTS = [8, 64, 256, 1024];
const PROMPTS = [1024, 4096, 16 * 1024, 220 * 1024];
const ROUNDS = quick ? 1 : Number(process.env.ROUNDS ?? 5);
const ROUND_ROBIN = `plugins: [{type: round-robin-picker}]`;
const configAt = process.argv.indexOf('--config');
const PROFILE_YAML = configAt > 0 && process.argv[configAt + 1] ? readFileSync(process.argv[configAt + 1], 'utf8') : DEFAULT_CONFIG_YAML;

interface CaseResult {
  endpoints: number;
  promptBytes: number;
  profile: string;
  p50Ns: number;
  p99Ns: number;
  opsPerSec: number;
  /** Each round's p50 (ns); p50Ns is their median. */
  p50NsRounds?: number[];
}

/** A fleet with varied, fresh metrics and 16-token KV blocks. */
function fleet(n: number, rng: () => number): EndpointPool {
  const pool = new EndpointPool({ now: () => 1_000_000 });
  for (let i = 0; i < n; i++) {
    const ep = pool.upsert({ address: `10.${(i >> 8) & 255}.${i & 255}.1`, port: 8000 });
    const adapters = new Set([`lora-${i % 7}`, `lora-${(i + 3) % 7}`]);
    pool.recordMetrics(ep, {
      waitingQueueSize: Math.floor(rng() * 20),
      runningRequests: Math.floor(rng() * 64),
      kvCacheUsage: rng(),
      activeAdapters: adapters,
      waitingAdapters: EMPTY_SET,
      maxAdapters: 4,
      cacheBlockSize: 16,
      cacheNumBlocks: 30_000,
    });
  }
  return pool;
}

/** Completion bodies of `bytes` sharing one of 32 system prompts, with a unique tail. */
function bodies(bytes: number, count: number, rng: () => number): Buffer[] {
  const out: Buffer[] = [];
  const systems = Array.from({ length: 32 }, (_, i) => `System prompt ${i}: you are a careful assistant. `.repeat(Math.ceil((bytes * 0.6) / 50)).slice(0, Math.floor(bytes * 0.6)));
  for (let i = 0; i < count; i++) {
    const sys = systems[Math.floor(rng() * systems.length)];
    const tail = `Question ${i} ${rng().toString(36)} `.repeat(Math.ceil(bytes / 20)).slice(0, bytes - sys.length);
    out.push(Buffer.from(JSON.stringify({ model: `lora-${i % 7}`, prompt: sys + tail, max_tokens: 128, stream: true })));
  }
  return out;
}

function toRequest(body: Buffer, v: RequestView, i: number): SchedulingRequest {
  return {
    requestId: String(i),
    targetModel: v.model,
    body,
    promptStart: v.promptStart,
    promptEnd: v.promptEnd,
    cacheSalt: v.cacheSalt,
    inputTokens: (v.promptEnd - v.promptStart) >> 2,
    outputTokens: 128,
    headers: null,
    priority: 0,
  };
}

function runCase(n: number, bytes: number, configText: string, profile: string): CaseResult {
  const rng = seededRandom(n * 31 + bytes);
  const pool = fleet(n, rng);
  const built = buildScheduling(parseConfig(configText), { pool, rng }, { registry: registerBuiltinPlugins() });
  const scheduler = new Scheduler(pool, built.profile, { stalenessThresholdMs: 2000, rng });
  const distinct = bytes >= 200_000 ? 64 : 256;
  const inputs = bodies(bytes, distinct, rng);
  const iterations = quick ? 2_000 : bytes >= 200_000 ? 3_000 : n >= 1024 ? 4_000 : 10_000;
  const samples = new Float64Array(iterations);
  const path = '/v1/completions';
  const once = (i: number): void => {
    const body = inputs[i % distinct];
    const v = inspectRequest(body, path);
    if (isSwitchboardError(v)) throw v;
    const r = scheduler.schedule(toRequest(body, v, i), null, false);
    if (r.kind !== 'picked') throw new Error('no pick');
  };
  for (let i = 0; i < Math.min(2000, iterations); i++) once(i); // warm-up: JIT and a filled prefix index
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const s = process.hrtime.bigint();
    once(i);
    samples[i] = Number(process.hrtime.bigint() - s);
  }
  const totalNs = Number(process.hrtime.bigint() - t0);
  samples.sort();
  return { endpoints: n, promptBytes: bytes, profile, p50Ns: percentile(samples, 50), p99Ns: percentile(samples, 99), opsPerSec: Math.round((iterations / totalNs) * 1e9) };
}

/** What a full parse and re-serialization of the body costs (the Go EPP's path), per request. */
function fullParseNs(bytes: number): number {
  const inputs = bodies(bytes, 16, seededRandom(5));
  const n = quick ? 300 : bytes >= 200_000 ? 2_000 : 10_000;
  for (let i = 0; i < 200; i++) JSON.stringify(JSON.parse(inputs[i % 16].toString('utf8')));
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    const o = JSON.parse(inputs[i % 16].toString('utf8')) as Record<string, unknown>;
    Buffer.from(JSON.stringify(o));
    samples[i] = Number(process.hrtime.bigint() - s);
  }
  samples.sort();
  return percentile(samples, 50);
}

function inspectNs(bytes: number): number {
  const inputs = bodies(bytes, 16, seededRandom(5));
  const n = quick ? 300 : bytes >= 200_000 ? 2_000 : 10_000;
  for (let i = 0; i < 200; i++) inspectRequest(inputs[i % 16], '/v1/completions');
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    inspectRequest(inputs[i % 16], '/v1/completions');
    samples[i] = Number(process.hrtime.bigint() - s);
  }
  samples.sort();
  return percentile(samples, 50);
}

const us = (ns: number) => (ns / 1000).toFixed(ns < 10_000 ? 2 : 1);

/** The median round of a case: median p50, p99 and throughput over the rounds. */
function combine(rounds: CaseResult[]): CaseResult {
  const p50s = rounds.map((r) => r.p50Ns);
  return {
    ...rounds[0],
    p50Ns: median(p50s),
    p99Ns: median(rounds.map((r) => r.p99Ns)),
    opsPerSec: Math.round(median(rounds.map((r) => r.opsPerSec))),
    p50NsRounds: p50s,
  };
}

function main(): void {
  const results: CaseResult[] = [];
  const rounds = new Map<string, CaseResult[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of ENDPOINTS) {
      for (const bytes of PROMPTS) {
        for (const [text, profile] of [[PROFILE_YAML, 'default'], [ROUND_ROBIN, 'round-robin']] as const) {
          const key = `${n}/${bytes}/${profile}`;
          if (!rounds.has(key)) rounds.set(key, []);
          rounds.get(key)!.push(runCase(n, bytes, text, profile));
        }
      }
    }
  }
  for (const n of ENDPOINTS) {
    for (const bytes of PROMPTS) {
      const d = combine(rounds.get(`${n}/${bytes}/default`)!);
      const rr = combine(rounds.get(`${n}/${bytes}/round-robin`)!);
      results.push(d, rr);
      process.stdout.write(
        `${String(n).padStart(5)} endpoints ${String(bytes / 1024).padStart(4)} KB  default p50 ${us(d.p50Ns).padStart(7)} µs p99 ${us(d.p99Ns).padStart(7)} µs ${String(d.opsPerSec).padStart(8)}/s   round-robin p50 ${us(rr.p50Ns)} µs\n`,
      );
    }
  }
  const body = PROMPTS.map((b) => ({ promptBytes: b, inspectP50Ns: inspectNs(b), fullParseP50Ns: fullParseNs(b) }));
  for (const b of body) process.stdout.write(`body ${b.promptBytes / 1024} KB: inspect p50 ${us(b.inspectP50Ns)} µs, JSON.parse+stringify p50 ${us(b.fullParseP50Ns)} µs\n`);

  const def = results.filter((r) => r.profile === 'default');
  writeJson(new URL('./results/scheduler.json', import.meta.url).pathname.replace('/dist-bench/bench/', '/bench/'), {
    machine: machine(),
    command: 'npm run bench:scheduler',
    date: new Date().toISOString(),
    rounds: ROUNDS,
    cases: def.map(({ endpoints, promptBytes, p50Ns, p99Ns, opsPerSec, p50NsRounds }) => ({ endpoints, promptBytes, p50Ns, p99Ns, opsPerSec, p50NsRounds })),
    baselineRoundRobin: results.filter((r) => r.profile === 'round-robin').map(({ endpoints, promptBytes, p50Ns, p99Ns, opsPerSec }) => ({ endpoints, promptBytes, p50Ns, p99Ns, opsPerSec })),
    body,
  });

  const rows = def.map((d) => {
    const rr = results.find((r) => r.profile === 'round-robin' && r.endpoints === d.endpoints && r.promptBytes === d.promptBytes)!;
    const r = d.p50NsRounds ?? [d.p50Ns];
    return `| ${d.endpoints} | ${d.promptBytes / 1024} KB | ${us(d.p50Ns)} (${us(Math.min(...r))}–${us(Math.max(...r))}) | ${us(d.p99Ns)} | ${d.opsPerSec.toLocaleString('en-US')} | ${us(rr.p50Ns)} | ${(d.p50Ns / rr.p50Ns).toFixed(1)}× |`;
  });
  const bodyRows = body.map((b) => `| ${b.promptBytes / 1024} KB | ${us(b.inspectP50Ns)} | ${us(b.fullParseP50Ns)} | ${(b.fullParseP50Ns / b.inspectP50Ns).toFixed(1)}× |`);
  writeResultsSection(
    new URL('./RESULTS.md', import.meta.url).pathname.replace('/dist-bench/bench/', '/bench/'),
    'scheduler',
    `## Scheduler hot path (\`npm run bench:scheduler\`)

One complete pick per request: inspect the body, hash up to 256 prefix blocks, filter, score with
${configAt > 0 ? `the profile in \`${process.argv[configAt + 1]}\`` : 'the default profile (decode-headroom-filter; prefix 3 hashing every fourth block, prefill-work 2, queue 2, KV 2, LoRA 4 with its adapter memory)'},
max-score pick, record the prefix in the index. Endpoints have fresh varied metrics and 16-token KV blocks; prompts share one of 32 system
prompts. Single-threaded, in-process; each sample is one pick timed with \`process.hrtime\`. Medians over
${ROUNDS} interleaved rounds (each on a fresh pool and index), with the rounds' p50 min–max.

${loadNote()}. Machine: ${machine()}. Run: ${new Date().toISOString().slice(0, 10)}.

| endpoints | prompt | p50 µs (round min–max) | p99 µs | picks/s | round-robin p50 µs (baseline) | default / baseline |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Body handling alone (p50 µs): Switchboard's selective scan against a full \`JSON.parse\` +
\`JSON.stringify\` of the same body, which is what a parse-and-re-marshal picker pays.

| body | inspect | parse + stringify | ratio |
|---|---|---|---|
${bodyRows.join('\n')}
`,
  );
}

main();
