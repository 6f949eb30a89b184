/**
 * What clients and routers probe on a model server, answered by simulated pods over real HTTP:
 * vLLM's /version, /ping, /tokenize, /detokenize, /load, /v1/embeddings (an embedding profile,
 * else vLLM's error), the Responses API's clear refusal, and in SGLang mode SGLang's
 * /get_server_info, /get_load, /get_model_info, /health_generate and metric names.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSimFlags } from '../../src/cli/sim.js';
import { BUILTIN_ENGINES, compileEngine } from '../../src/datalayer/engines.js';
import { extractMetrics } from '../../src/datalayer/extract.js';
import { synthText, tokenize } from '../../src/workload/tokenizer.js';
import { startSimFleet, type SimFleet } from '../../src/sim/pod/fleet.js';

let vllm: SimFleet;
let embed: SimFleet;
let sglang: SimFleet;

beforeAll(async () => {
  [vllm, embed, sglang] = await Promise.all([
    startSimFleet({ modelName: 'sim-llama', loraModules: [{ name: 'sql-lora' }] }),
    startSimFleet({ profile: 'bge-m3-h100' }),
    startSimFleet({ modelName: 'sim-sglang', engineType: 'sglang', engine: { numGpuBlocks: 1000 } }),
  ]);
});

afterAll(async () => {
  await Promise.all([vllm?.close(), embed?.close(), sglang?.close()]);
});

async function call(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; text: string; json: () => any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

describe('vLLM probe endpoints', () => {
  it('/version, /ping (GET and POST, 503 when unhealthy)', async () => {
    const base = vllm.pods[0].url;
    const v = await call(base, 'GET', '/version');
    expect(v.status).toBe(200);
    expect(v.json()).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect((await call(base, 'GET', '/ping')).status).toBe(200);
    expect((await call(base, 'POST', '/ping')).status).toBe(200);
    vllm.pods[0].pod.setFaults({ unhealthy: true });
    try {
      expect((await call(base, 'GET', '/ping')).status).toBe(503);
    } finally {
      vllm.pods[0].pod.setFaults({ unhealthy: false });
    }
  });

  it('/tokenize counts like the engine, returns token strings on request, and /detokenize turns them back', async () => {
    const base = vllm.pods[0].url;
    const prompt = 'Switchboard routes   requests\nby prefix.';
    const t = await call(base, 'POST', '/tokenize', { model: 'sim-llama', prompt, return_token_strs: true });
    expect(t.status).toBe(200);
    const body = t.json();
    expect(body).toMatchObject({ count: body.tokens.length, max_model_len: 131072 });
    expect(body.tokens).toEqual(Array.from(tokenize(prompt)));
    expect(body.token_strs.join('')).toBe(prompt);
    expect((await call(base, 'POST', '/tokenize', { prompt })).json().token_strs).toBeNull();
    const chat = await call(base, 'POST', '/tokenize', { model: 'sql-lora', messages: [{ role: 'user', content: 'hello there' }] });
    expect(chat.json().count).toBeGreaterThan(2);

    const d = await call(base, 'POST', '/detokenize', { model: 'sim-llama', tokens: body.tokens });
    expect(d.json()).toEqual({ prompt });
    // Generated text detokenizes without having been sent to /tokenize.
    const generated = synthText(77, 12);
    expect((await call(base, 'POST', '/detokenize', { tokens: Array.from(tokenize(generated)) })).json()).toEqual({ prompt: generated });

    const unknown = await call(base, 'POST', '/detokenize', { tokens: [7] });
    expect(unknown.status).toBe(400);
    expect(unknown.json().error).toMatchObject({ type: 'BadRequestError', code: 400, message: expect.stringContaining('token id 7') });
    expect((await call(base, 'POST', '/tokenize', { model: 'nope', prompt: 'x' })).json().error).toMatchObject({ code: 404, message: 'The model `nope` does not exist.' });
    expect((await call(base, 'POST', '/tokenize', { prompt: 5 })).status).toBe(400);
    expect((await call(base, 'POST', '/tokenize', '{not json')).status).toBe(400);
    expect((await call(base, 'POST', '/detokenize', { tokens: [1.5] })).status).toBe(400);
  });

  it('/load counts requests being answered', async () => {
    const base = vllm.pods[0].url;
    expect((await call(base, 'GET', '/load')).json()).toEqual({ server_load: 0 });
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none', maxRetries: 0 });
    const stream = await client.completions.create({ model: 'sim-llama', prompt: 'count me', max_tokens: 400, stream: true });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    expect((await call(base, 'GET', '/load')).json()).toEqual({ server_load: 1 });
    stream.controller.abort();
    for (let i = 0; i < 200 && (await call(base, 'GET', '/load')).json().server_load !== 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect((await call(base, 'GET', '/load')).json()).toEqual({ server_load: 0 });
  });

  it('/v1/embeddings on a generative model: vLLM\'s error, through the openai client', async () => {
    const client = new OpenAI({ baseURL: `${vllm.pods[0].url}/v1`, apiKey: 'none', maxRetries: 0 });
    await expect(client.embeddings.create({ model: 'sim-llama', input: 'hello' })).rejects.toMatchObject({
      status: 400,
      error: { message: 'The model does not support Embeddings API', type: 'BadRequestError', code: 400 },
    });
  });

  it('/v1/responses is refused with a clear message; SGLang-only endpoints are 404', async () => {
    const r = await call(vllm.pods[0].url, 'POST', '/v1/responses', { model: 'sim-llama', input: 'hi' });
    expect(r.status).toBe(404);
    expect(r.json().error.message).toMatch(/does not implement the Responses API/);
    for (const p of ['/get_server_info', '/get_load', '/health_generate']) expect((await call(vllm.pods[0].url, 'GET', p)).status).toBe(404);
  });
});

describe('embedding model profile', () => {
  const cos = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i], 0);

  it('answers /v1/embeddings through the openai client (base64 by default, and float), unit vectors, usage', async () => {
    const client = new OpenAI({ baseURL: `${embed.pods[0].url}/v1`, apiKey: 'none', maxRetries: 0 });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['BAAI/bge-m3']);
    const texts = ['the cat sat on the mat', 'the cat sat on the hat', 'quarterly revenue grew strongly'];
    const r = await client.embeddings.create({ model: 'BAAI/bge-m3', input: texts });
    expect(r.object).toBe('list');
    expect(r.model).toBe('BAAI/bge-m3');
    expect(r.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const v = r.data.map((d) => d.embedding);
    for (const e of v) {
      expect(e).toHaveLength(1024);
      expect(cos(e, e)).toBeCloseTo(1, 4);
    }
    expect(cos(v[0], v[1])).toBeGreaterThan(cos(v[0], v[2]));
    const n = texts.reduce((s, t) => s + tokenize(t).length, 0);
    expect(r.usage).toEqual({ prompt_tokens: n, total_tokens: n, completion_tokens: 0, prompt_tokens_details: null });

    const f = await client.embeddings.create({ model: 'BAAI/bge-m3', input: texts[0], encoding_format: 'float' });
    expect(f.data[0].embedding[5]).toBeCloseTo(v[0][5], 6);
    const ids = await client.embeddings.create({ model: 'BAAI/bge-m3', input: [[1, 2, 3]] });
    expect(ids.usage.prompt_tokens).toBe(3);
  });

  it('refuses bad input, other dimensions, unknown models and the completions APIs', async () => {
    const client = new OpenAI({ baseURL: `${embed.pods[0].url}/v1`, apiKey: 'none', maxRetries: 0 });
    await expect(client.embeddings.create({ model: 'BAAI/bge-m3', input: 'x', dimensions: 256 })).rejects.toMatchObject({ status: 400 });
    await expect(client.embeddings.create({ model: 'other', input: 'x' })).rejects.toMatchObject({ status: 404 });
    await expect(client.embeddings.create({ model: 'BAAI/bge-m3', input: [] as string[] })).rejects.toMatchObject({ status: 400 });
    await expect(client.completions.create({ model: 'BAAI/bge-m3', prompt: 'x' })).rejects.toMatchObject({
      status: 400,
      error: { message: 'The model does not support Completions API' },
    });
    const long = await call(embed.pods[0].url, 'POST', '/v1/embeddings', { input: Array.from({ length: 9000 }, () => 1) });
    expect(long.status).toBe(400);
    expect(long.json().error.message).toMatch(/maximum context length is 8192 tokens/);
  });
});

describe('SGLang mode', () => {
  it('switchboard sim --engine sglang parses; a bad engine is a flag error', () => {
    expect(parseSimFlags(['--engine', 'sglang'])).toMatchObject({ engineType: 'sglang' });
    expect(() => parseSimFlags(['--engine', 'tgi'])).toThrow(/invalid flag --engine: must be one of vllm, sglang, jetstream, got "tgi"/);
  });

  it('exposes SGLang metric names that Switchboard\'s sglang engine mapping reads, and no vLLM names', async () => {
    const base = sglang.pods[0].url;
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none', maxRetries: 0 });
    const prompt = synthText(3, 200);
    await client.completions.create({ model: 'sim-sglang', prompt, max_tokens: 4 });
    const stream = await client.completions.create({ model: 'sim-sglang', prompt, max_tokens: 400, stream: true });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    try {
      const m = await call(base, 'GET', '/metrics');
      for (const name of ['sglang:num_running_reqs', 'sglang:num_queue_reqs', 'sglang:token_usage', 'sglang:cache_hit_rate', 'sglang:gen_throughput', 'sglang:num_used_tokens', 'sglang:prompt_tokens_total', 'sglang:time_to_first_token_seconds_bucket']) {
        expect(m.text).toMatch(new RegExp(`^${name}\\{model_name="sim-sglang"`, 'm'));
      }
      expect(m.text).not.toContain('vllm:');
      expect(m.text).toMatch(/^sglang:num_running_reqs\{model_name="sim-sglang"\} 1\.0$/m);
      // First scrape: since the pod started. 400 prompt tokens looked up, the repeat's 12 full
      // 16-token blocks (192 tokens) found.
      expect(Number(/^sglang:cache_hit_rate\{[^}]*\} (\S+)$/m.exec(m.text)?.[1])).toBeCloseTo(192 / 400, 6);
      const ex = extractMetrics(m.text, compileEngine(BUILTIN_ENGINES.find((e) => e.name === 'sglang')!));
      expect(ex.ok).toBe(true);
      if (ex.ok) expect(ex.metrics).toMatchObject({ runningRequests: 1, waitingQueueSize: 0, cacheBlockSize: 16, cacheNumBlocks: 1000 });
      if (ex.ok) expect(ex.metrics.kvCacheUsage).toBeGreaterThan(0);

      const load = (await call(base, 'GET', '/get_load')).json();
      expect(load).toEqual([{ dp_rank: 0, num_reqs: 1, num_waiting_reqs: 0, num_tokens: expect.any(Number), num_pending_tokens: 0, ts_tic: expect.any(Number) }]);
      expect(load[0].num_tokens).toBeGreaterThan(200);
    } finally {
      stream.controller.abort();
    }
  });

  it('/get_server_info, /get_model_info, /health_generate, /v1/models; vLLM-only probes are 404', async () => {
    const base = sglang.pods[0].url;
    const info = (await call(base, 'GET', '/get_server_info')).json();
    expect(info).toMatchObject({
      model_path: 'sim-sglang',
      served_model_name: 'sim-sglang',
      port: sglang.pods[0].port,
      tp_size: 1,
      dp_size: 1,
      page_size: 16,
      context_length: 131072,
      max_total_num_tokens: 16000,
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    expect(info.internal_states).toEqual([expect.objectContaining({ last_gen_throughput: expect.any(Number) })]);
    expect((await call(base, 'GET', '/get_model_info')).json()).toEqual({ model_path: 'sim-sglang', tokenizer_path: 'sim-sglang', is_generation: true });
    const before = sglang.pods[0].pod.engine.counters.finished;
    expect((await call(base, 'GET', '/health_generate')).status).toBe(200);
    expect(sglang.pods[0].pod.engine.counters.finished).toBe(before + 1);
    sglang.pods[0].pod.setFaults({ unhealthy: true });
    try {
      expect((await call(base, 'GET', '/health_generate')).status).toBe(503);
    } finally {
      sglang.pods[0].pod.setFaults({ unhealthy: false });
    }
    expect((await call(base, 'GET', '/v1/models')).json().data[0]).toMatchObject({ id: 'sim-sglang', owned_by: 'sglang' });
    for (const p of ['/version', '/load']) expect((await call(base, 'GET', p)).status).toBe(404);
    // Refused input is counted on the SGLang page too.
    expect((await call(base, 'POST', '/tokenize', { prompt: 1 })).status).toBe(400);
    expect((await call(base, 'GET', '/metrics')).text).toMatch(/^switchboard_sim_rejected_requests_total\{reason="bad_request"\} [1-9]/m);
  });
});
