const D = process.env.D ?? '/work/main/dist-bench/';
const { registerBuiltinPlugins } = await import(D + 'src/builtin-plugins.js');
const { parseConfig } = await import(D + 'src/config/load.js');
const { DEFAULT_CONFIG_YAML } = await import(D + 'src/config/defaults.js');
const { inspectRequest } = await import(D + 'src/request/inspect.js');
const { buildScheduling } = await import(D + 'src/scheduling/build.js');
const { Scheduler } = await import(D + 'src/scheduling/scheduler.js');
const { seededRandom } = await import(D + 'src/util/random.js');
const { EndpointPool } = await import(D + 'src/pool/pool.js');
const { EMPTY_SET } = await import(D + 'src/pool/endpoint.js');
const n = Number(process.argv[2] ?? 64), bytes = Number(process.argv[3] ?? 4096), iters = Number(process.argv[4] ?? 200000);
const rng = seededRandom(n * 31 + bytes);
const pool = new EndpointPool({ now: () => 1_000_000 });
for (let i = 0; i < n; i++) {
  const ep = pool.upsert({ address: `10.${(i >> 8) & 255}.${i & 255}.1`, port: 8000 });
  pool.recordMetrics(ep, { waitingQueueSize: Math.floor(rng() * 20), runningRequests: Math.floor(rng() * 64), kvCacheUsage: rng(), activeAdapters: new Set([`lora-${i % 7}`, `lora-${(i + 3) % 7}`]), waitingAdapters: EMPTY_SET, maxAdapters: 4, cacheBlockSize: 16, cacheNumBlocks: 30_000 });
}
const built = buildScheduling(parseConfig(DEFAULT_CONFIG_YAML), { pool, rng }, { registry: registerBuiltinPlugins() });
const scheduler = new Scheduler(pool, built.profile, { stalenessThresholdMs: 2000, rng });
const systems = Array.from({ length: 32 }, (_, i) => `System prompt ${i}: you are a careful assistant. `.repeat(Math.ceil((bytes * 0.6) / 50)).slice(0, Math.floor(bytes * 0.6)));
const inputs = [];
for (let i = 0; i < 256; i++) { const sys = systems[Math.floor(rng() * 32)]; const tail = `Question ${i} ${rng().toString(36)} `.repeat(Math.ceil(bytes / 20)).slice(0, bytes - sys.length); inputs.push(Buffer.from(JSON.stringify({ model: `lora-${i % 7}`, prompt: sys + tail, max_tokens: 128, stream: true }))); }
const once = (i) => { const body = inputs[i % 256]; const v = inspectRequest(body, '/v1/completions'); const r = scheduler.schedule({ requestId: String(i), targetModel: v.model, body, promptStart: v.promptStart, promptEnd: v.promptEnd, cacheSalt: v.cacheSalt, inputTokens: (v.promptEnd - v.promptStart) >> 2, outputTokens: 128, headers: null, priority: 0 }, null, false); if (r.kind !== 'picked') throw new Error('no pick'); };
for (let i = 0; i < 5000; i++) once(i);
const samples = new Float64Array(iters);
for (let i = 0; i < iters; i++) { const s = process.hrtime.bigint(); once(i); samples[i] = Number(process.hrtime.bigint() - s); }
samples.sort();
console.log(`n=${n} bytes=${bytes} p50 ${(samples[iters >> 1] / 1000).toFixed(2)} us p99 ${(samples[Math.floor(iters * 0.99)] / 1000).toFixed(2)} us`);
