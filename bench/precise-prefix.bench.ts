/**
 * Costs of precise prefix-cache routing (KV events):
 *
 * - pick cost: one full scheduling cycle (filters, scorers, picker) of the default profile with
 *   `precise-prefix-cache-scorer` in place of `prefix-cache-scorer`, against the default profile
 *   itself, same fleet, same prompts (token ids given, as after tokenizing), interleaved rounds;
 * - tokenization per 4 KB and 64 KB prompt: the local tokenizer (inline and on the worker
 *   thread) and vLLM's /tokenize on a simulated pod over loopback, with the cache hit beside;
 * - memory per 10k blocks held in the precise index (heap after a forced GC).
 *
 *   npm run bench:precise [-- --quick] [-- --publish]
 * Writes bench/results/precise-prefix.json and the `precise-prefix` section of bench/RESULTS.md.
 */
import { Encoder } from '@msgpack/msgpack';
import { registerBuiltinPlugins } from '../src/builtin-plugins.js';
import { parseConfig } from '../src/config/load.js';
import { DEFAULT_CONFIG_YAML } from '../src/config/defaults.js';
import { KvEventSource } from '../src/datalayer/kv-events/kv-event-source.js';
import { PreciseIndex } from '../src/datalayer/kv-events/precise-index.js';
import { EndpointPool } from '../src/pool/pool.js';
import { EMPTY_SET } from '../src/pool/endpoint.js';
import { HfTokenizer } from '../src/request/tokenization/hf-tokenizer.js';
import { PromptTokenizer } from '../src/request/tokenization/prompt-tokenizer.js';
import { VllmTokenizer } from '../src/request/tokenization/vllm-tokenizer.js';
import { buildScheduling } from '../src/scheduling/build.js';
import type { SchedulingRequest } from '../src/scheduling/framework/cycle.js';
import { Scheduler } from '../src/scheduling/scheduler.js';
import { preciseConfigDocument } from '../src/sim/scorecard/director-router.js';
import { SimPod } from '../src/sim/pod/server.js';
import { seededRandom } from '../src/util/random.js';
import { stringify } from 'yaml';
import { machine, median, percentile, spread, writeJson, writeResultsSection } from './lib/stats.js';
import { TINY_TOKENIZER_DIR } from '../test/support/fixtures.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 5;
const ENDPOINTS = [8, 64, 256];
const PROMPT_TOKENS = [1024, 8192];
const BS = 16;

function fleet(n: number, rng: () => number): EndpointPool {
  const pool = new EndpointPool({ now: () => 1_000_000 });
  for (let i = 0; i < n; i++) {
    const ep = pool.upsert({ address: `10.${(i >> 8) & 255}.${i & 255}.1`, port: 8000 });
    pool.recordMetrics(ep, {
      waitingQueueSize: Math.floor(rng() * 20),
      runningRequests: Math.floor(rng() * 64),
      kvCacheUsage: rng(),
      activeAdapters: EMPTY_SET,
      waitingAdapters: EMPTY_SET,
      maxAdapters: 0,
      cacheBlockSize: BS,
      cacheNumBlocks: 30_000,
    });
  }
  return pool;
}

/** 32 system prompts of 60% of the length, unique tails; token ids and a JSON body for each. */
function prompts(tokens: number, count: number, rng: () => number): Array<{ ids: Int32Array; body: Buffer; sys: number }> {
  const out: Array<{ ids: Int32Array; body: Buffer; sys: number }> = [];
  const sysLen = Math.floor(tokens * 0.6);
  for (let i = 0; i < count; i++) {
    const sys = Math.floor(rng() * 32);
    const ids = new Int32Array(tokens);
    for (let t = 0; t < tokens; t++) ids[t] = t < sysLen ? sys * 100_000 + t : Math.floor(rng() * 100_000);
    out.push({ ids, body: Buffer.from(JSON.stringify({ model: 'm', prompt: 'x'.repeat(tokens * 4) })), sys });
  }
  return out;
}

function request(p: { ids: Int32Array; body: Buffer }, i: number): SchedulingRequest {
  return {
    requestId: String(i),
    targetModel: 'm',
    body: p.body,
    promptStart: 22,
    promptEnd: p.body.length - 2,
    cacheSalt: '',
    inputTokens: p.ids.length,
    outputTokens: 128,
    headers: null,
    priority: 0,
    tokenIds: p.ids,
  };
}

interface PickCase {
  endpoints: number;
  promptTokens: number;
  profile: string;
  p50Ns: number;
  rounds: number[];
}

/** One round of picks; for the precise profile, every pick's blocks are first stored on the picked endpoint through events. */
function pickRound(n: number, tokens: number, precise: boolean, seed: number): number {
  const rng = seededRandom(seed);
  const pool = fleet(n, rng);
  const cfg = precise ? parseConfig(stringify(preciseConfigDocument())) : parseConfig(DEFAULT_CONFIG_YAML);
  const built = buildScheduling(cfg, { pool, rng }, { registry: registerBuiltinPlugins() });
  const sched = new Scheduler(pool, built.profile, { stalenessThresholdMs: 1e12, rng });
  const src = [...built.plugins.values()].map((p) => (p as { events?: unknown }).events).find((e) => e instanceof KvEventSource) as KvEventSource | undefined;
  const enc = new Encoder({ useBigInt64: true });
  const seqs = new Array<number>(pool.capacity).fill(0);
  const ps = prompts(tokens, 200, rng);
  const warm = quick ? 200 : 1000;
  const measured = quick ? 500 : 2000;
  const times = new Float64Array(measured);
  for (let i = 0; i < warm + measured; i++) {
    const p = ps[i % ps.length];
    const t0 = process.hrtime.bigint();
    const r = sched.schedule(request(p, i), null, false, null);
    const dt = Number(process.hrtime.bigint() - t0);
    if (i >= warm) times[i - warm] = dt;
    if (r.kind === 'picked' && src !== undefined) {
      // The engine caches the prompt's blocks: its event reaches the index (outside the timed pick).
      const slot = r.endpoints[0].slot;
      const blocks = Math.floor(p.ids.length / BS);
      const hashes = Array.from({ length: blocks }, (_, b) => BigInt(i) * 100_000n + BigInt(b) + 1n);
      src.deliver(slot, seqs[slot]++, enc.encode([0, [['BlockStored', hashes, null, Array.from(p.ids.subarray(0, blocks * BS)), BS, null, 'GPU']]]));
    }
  }
  times.sort();
  return percentile(times, 0.5);
}

async function tokenizationCosts(): Promise<Array<{ backend: string; bytes: number; msMedian: number; spread: string }>> {
  const out: Array<{ backend: string; bytes: number; msMedian: number; spread: string }> = [];
  const words = 'the quick brown fox jumps over the lazy dog while hello world ';
  const text = (bytes: number, salt: number) => `${salt} ${words.repeat(Math.ceil(bytes / words.length))}`.slice(0, bytes);
  const inline = new HfTokenizer({ dir: TINY_TOKENIZER_DIR, inlineChars: 1 << 30 });
  const worker = new HfTokenizer({ dir: TINY_TOKENIZER_DIR, inlineChars: 0 });
  const pod = await SimPod.start();
  const remote = new PromptTokenizer(new VllmTokenizer(() => pod.url), { timeoutMs: 10_000, cacheTokens: 10_000_000 });
  const reps = quick ? 5 : 20;
  for (const bytes of [4096, 65536]) {
    const measure = async (backend: string, fn: (i: number) => Promise<unknown> | unknown) => {
      const ms: number[] = [];
      for (let i = 0; i < reps + 2; i++) {
        const t0 = performance.now();
        await fn(i);
        if (i >= 2) ms.push(performance.now() - t0);
      }
      out.push({ backend, bytes, msMedian: median(ms), spread: spread(ms, 3) });
    };
    await measure('local tokenizer.json, inline', (i) => inline.tokenize({ kind: 'text', text: text(bytes, i) }));
    await measure('local tokenizer.json, worker thread', (i) => worker.tokenize({ kind: 'text', text: text(bytes, i) }));
    const body = (i: number) => {
      const b = Buffer.from(JSON.stringify({ model: pod.modelName, prompt: text(bytes, i) }));
      return { body: b, promptStart: b.indexOf('"prompt":') + 9, promptEnd: b.length - 1, model: pod.modelName };
    };
    await measure('vLLM /tokenize (simulated pod, loopback)', (i) => remote.tokenize(body(i)));
    await measure('cache hit', () => remote.tokenize(body(0)));
  }
  await inline.close();
  await worker.close();
  await pod.close();
  return out;
}

function memoryPer10k(): { bytesPer10kBlocks: number; endpoints: number; blocksPerEndpoint: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:precise does)');
  const endpoints = 16;
  const blocksPerEndpoint = 20_480; // a multiple of the 64-block events
  gc();
  const before = process.memoryUsage().heapUsed;
  const index = new PreciseIndex(() => 1e9);
  for (let s = 0; s < endpoints; s++) {
    // Half of each endpoint's blocks are a prefix shared with the others, as on shared-prefix loads.
    for (let b = 0; b < blocksPerEndpoint; b += 64) {
      const shared = b < blocksPerEndpoint / 2;
      const tokens = new Int32Array(64 * BS);
      for (let t = 0; t < tokens.length; t++) tokens[t] = shared ? b * BS + t : s * 1e6 + b * BS + t;
      index.apply(s, { type: 'stored', hashes: Array.from({ length: 64 }, (_, k) => s * 1e7 + b + k), parent: null, tokens, blockSize: BS, loraName: null, medium: null, extraKeys: null });
    }
  }
  gc();
  const used = process.memoryUsage().heapUsed - before;
  const held = endpoints * blocksPerEndpoint;
  if (index.blocksOf(0) !== blocksPerEndpoint) throw new Error('index did not hold the blocks');
  return { bytesPer10kBlocks: Math.round((used / held) * 10_000), endpoints, blocksPerEndpoint };
}

async function main(): Promise<void> {
  const picks: PickCase[] = [];
  for (const n of ENDPOINTS) {
    for (const tokens of PROMPT_TOKENS) {
      const rounds: Record<string, number[]> = { default: [], precise: [] };
      for (let r = 0; r < ROUNDS; r++) {
        rounds.default.push(pickRound(n, tokens, false, 100 + r));
        rounds.precise.push(pickRound(n, tokens, true, 100 + r));
      }
      for (const profile of ['default', 'precise']) picks.push({ endpoints: n, promptTokens: tokens, profile, p50Ns: median(rounds[profile]), rounds: rounds[profile] });
      process.stdout.write(`${n} endpoints, ${tokens} tokens: default ${(median(rounds.default) / 1000).toFixed(1)} µs, precise ${(median(rounds.precise) / 1000).toFixed(1)} µs\n`);
    }
  }
  const tok = await tokenizationCosts();
  for (const t of tok) process.stdout.write(`${t.backend} ${t.bytes} B: ${t.msMedian.toFixed(3)} ms\n`);
  const mem = memoryPer10k();
  process.stdout.write(`precise index: ${(mem.bytesPer10kBlocks / 1024).toFixed(0)} KiB per 10k blocks\n`);
  writeJson('bench/results/precise-prefix.json', { machine: machine(), rounds: ROUNDS, picks, tokenization: tok, memory: mem });

  const rows = ENDPOINTS.flatMap((n) =>
    PROMPT_TOKENS.map((t) => {
      const d = picks.find((p) => p.endpoints === n && p.promptTokens === t && p.profile === 'default')!;
      const p = picks.find((x) => x.endpoints === n && x.promptTokens === t && x.profile === 'precise')!;
      return `| ${n} | ${t} | ${(d.p50Ns / 1000).toFixed(1)} (${spread(d.rounds.map((v) => v / 1000), 1)}) | ${(p.p50Ns / 1000).toFixed(1)} (${spread(p.rounds.map((v) => v / 1000), 1)}) | ${(p.p50Ns / d.p50Ns).toFixed(2)}× |`;
    }),
  );
  const tokRows = tok.map((t) => `| ${t.backend} | ${t.bytes / 1024} KB | ${t.msMedian.toFixed(3)} | ${t.spread} |`);
  writeResultsSection(
    'bench/RESULTS.md',
    'precise-prefix',
    `## Precise prefix routing: pick cost, tokenization, memory (\`npm run bench:precise\`)

${machine()}. Median of ${ROUNDS} interleaved rounds (min–max beside).

**Pick cost** (one scheduling cycle, token ids given; the precise profile's index filled by
events of every earlier pick, 30k-block endpoints): p50 µs.

| endpoints | prompt tokens | default profile (approximate) | precise profile | ratio |
|---|---|---|---|---|
${rows.join('\n')}

**Tokenization** per prompt, ms (the local tokenizer is the test fixture's byte-level BPE with ten
merges, about one token per byte where a real model's gives about one per four, so its cost per
byte is not a real model's; /tokenize includes a loopback HTTP round trip to the simulated pod).

| backend | prompt | median ms | min–max |
|---|---|---|---|
${tokRows.join('\n')}

**Memory:** ${(mem.bytesPer10kBlocks / 1024).toFixed(0)} KiB of heap per 10k blocks held (${mem.endpoints}
endpoints × ${mem.blocksPerEndpoint} blocks, half of them a prefix shared by all).
`,
  );
}

void main();
