/**
 * End to end through the proxy front door: the official `openai` client as the caller, the real
 * core (director, scheduler, scrape loops, telemetry) started by the shared harness, and real
 * HTTP pods on their own loopback addresses (127.0.0.1-3) serving vLLM-shaped answers and
 * /metrics. Nothing of ours is mocked.
 */
import OpenAI, { APIError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCore, startProxy } from '../../harness/index.js';
import type { ProxyServer } from '../../src/frontends/proxy/index.js';
import type { Switchboard } from '../../src/switchboard.js';
import { until } from '../support/net.js';
import { seeded } from '../support/pool.js';
import { VllmPod } from '../support/vllm-pod.js';

let pods: VllmPod[];
let core: Switchboard;
let proxy: ProxyServer;
let client: OpenAI;

const SERVED = 'x-gateway-destination-endpoint-served';

beforeAll(async () => {
  pods = await Promise.all([
    new VllmPod({ address: '127.0.0.1', adapters: ['sql-lora'] }).start(),
    new VllmPod({ address: '127.0.0.2', adapters: ['chat-lora'] }).start(),
    new VllmPod({ address: '127.0.0.3' }).start(),
  ]);
  core = await startCore({
    endpoints: pods.map((p) => p.spec),
    rng: seeded(7),
    // Metrics of a pod that stops answering stay usable for the whole file: the tests decide
    // which pod looks best, and a dead one must keep looking best so the proxy has to recover.
    stalenessMs: 600_000,
    collector: { intervalMs: 20, timeoutMs: 500 },
    scrapedWithinMs: 0,
  });
  proxy = await startProxy(core.director, core.pool, { registry: core.telemetry?.registry ?? null, settings: { modelsRefreshMs: 0 } });
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'test', maxRetries: 0 });
  await scraped();
});

afterAll(async () => {
  await proxy.close();
  await core.close();
  await Promise.all(pods.map((p) => p.stop()));
});

afterEach(async () => {
  // Every test leaves the books balanced: nothing in flight anywhere.
  await until(() => proxy.activeRequests === 0);
  for (const ep of core.pool.endpoints()) expect(core.pool.inflight[ep.slot]).toBe(0);
  expect(await metricLines('inference_objective_running_requests{')).toEqual(
    expect.not.arrayContaining([expect.stringMatching(/ [1-9]\d*$/)]),
  );
  for (const p of pods) p.waiting = 0;
});

/**
 * Waits until every pod's /metrics, as it reads now, is in the pool (all pods must be up). Two
 * rounds of completed scrapes: the first may have been sent before the test changed a knob.
 */
async function scraped(): Promise<void> {
  for (let round = 0; round < 2; round++) {
    const since = core.pool.clock.now();
    await until(() => core.pool.endpoints().every((ep) => core.pool.scrapedAt[ep.slot] > since));
  }
}

async function metricLines(prefix: string): Promise<string[]> {
  const text = await (core.telemetry?.registry.metrics() ?? Promise.resolve(''));
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

async function metricValue(line: string): Promise<number> {
  const found = (await metricLines(line)).find((l) => l.startsWith(line));
  return found === undefined ? 0 : Number(found.slice(found.lastIndexOf(' ') + 1));
}

const keys = () => pods.map((p) => p.key);

describe('proxy with the openai client', () => {
  it('serves a completion and reports the pod that served it', async () => {
    const { data, response } = await client.completions.create({ model: 'base-model', prompt: 'Hello', max_tokens: 5 }).withResponse();
    expect(data.object).toBe('text_completion');
    expect(data.model).toBe('base-model');
    expect(data.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 });
    expect(keys()).toContain(response.headers.get(SERVED));
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('returns the scheduler explanation when the debug header asks for it', async () => {
    const { response } = await client.completions
      .create({ model: 'base-model', prompt: 'why', max_tokens: 1 }, { headers: { 'x-switchboard-debug': 'explain' } })
      .withResponse();
    const explanation = JSON.parse(response.headers.get('x-switchboard-explanation') ?? 'null') as { picked: string[]; endpoints: unknown[] };
    expect(explanation.picked).toEqual([response.headers.get(SERVED)]);
    expect(explanation.endpoints.length).toBe(3);
  });

  it('serves a chat completion', async () => {
    const chat = await client.chat.completions.create({ model: 'base-model', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3 });
    expect(chat.object).toBe('chat.completion');
    expect(chat.choices[0].message).toMatchObject({ role: 'assistant', content: 'hello hello hello' });
  });

  it('streams a completion chunk by chunk, with the usage chunk counted in the exported metrics', async () => {
    const before = await metricValue('inference_objective_input_tokens_count{model_name="base-model"');
    const ttftBefore = await metricValue('inference_objective_request_ttft_seconds_count{model_name="base-model"');
    const tpotBefore = await metricValue('inference_objective_request_tpot_seconds_count{model_name="base-model"');
    const stream = await client.completions.create({
      model: 'base-model',
      prompt: 'Stream me',
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    const texts: string[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    for await (const chunk of stream) {
      if (chunk.choices.length > 0) texts.push(chunk.choices[0].text);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(texts.length).toBe(5);
    expect(usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 5 });
    await until(() => proxy.activeRequests === 0);
    expect(await metricValue('inference_objective_input_tokens_count{model_name="base-model"')).toBe(before + 1);
    // Time to first token and per output token, measured at the proxy from the stream.
    expect(await metricValue('inference_objective_request_ttft_seconds_count{model_name="base-model"')).toBe(ttftBefore + 1);
    expect(await metricValue('inference_objective_request_tpot_seconds_count{model_name="base-model"')).toBe(tpotBefore + 1);
  });

  it('streams a chat completion', async () => {
    const stream = await client.chat.completions.create({ model: 'base-model', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('hello hello hello hello hello');
  });

  it('forwards embeddings', async () => {
    const res = await client.embeddings.create({ model: 'base-model', input: 'embed me', encoding_format: 'float' });
    expect(res.data[0].embedding).toEqual([0.1, 0.2, 0.3]);
    expect(res.usage.prompt_tokens).toBe(3);
  });

  it('rewrites the model for the pod and maps it back for the client, streamed or not', async () => {
    const opts = { headers: { 'x-gateway-model-name-rewrite': 'base-model' } };
    const { data, response } = await client.completions.create({ model: 'my-alias', prompt: 'alias', max_tokens: 3 }, opts).withResponse();
    expect(data.model).toBe('my-alias');
    expect(data.choices[0].text).toBe('hello hello hello');
    const pod = pods.find((p) => p.key === response.headers.get(SERVED)) as VllmPod;
    expect(pod.stats.lastBody?.model).toBe('base-model');

    const stream = await client.chat.completions.create({ model: 'my-alias', messages: [{ role: 'user', content: 'x' }], stream: true }, opts);
    const models = new Set<string>();
    for await (const chunk of stream) models.add(chunk.model);
    expect([...models]).toEqual(['my-alias']);
  });

  it('rejects a malformed body with a 400 OpenAI error and counts it', async () => {
    const before = await metricValue('switchboard_rejected_input_total');
    const err = await client.post('/completions', { body: 'not json{' as unknown as Record<string, unknown>, headers: { 'content-type': 'application/json' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ status: 400, type: 'invalid_request_error' });
    expect((err as APIError).code).toMatch(/^SB_ERR_/);
    expect(await metricValue('switchboard_rejected_input_total')).toBeGreaterThan(before);
  });

  it('sends LoRA adapter requests to the pods that hold the adapter', async () => {
    for (let i = 0; i < 6; i++) {
      const model = i % 2 === 0 ? 'sql-lora' : 'chat-lora';
      // Fresh metrics first: a request not yet in a pod's scraped queue counts against it, and
      // with idle pods that alone can outweigh adapter affinity.
      await scraped();
      const { data, response } = await client.completions.create({ model, prompt: `question ${i}`, max_tokens: 2 }).withResponse();
      expect(data.model).toBe(model);
      expect(response.headers.get(SERVED)).toBe(model === 'sql-lora' ? pods[0].key : pods[1].key);
    }
  });

  it('lists the fleet models with adapters linked to their base model', async () => {
    const models = [];
    for await (const m of client.models.list()) models.push(m as OpenAI.Model & { parent: string | null });
    expect(models.map((m) => [m.id, m.parent])).toEqual([
      ['base-model', null],
      ['chat-lora', 'base-model'],
      ['sql-lora', 'base-model'],
    ]);
    expect(models[0]).toMatchObject({ object: 'model', owned_by: 'vllm' });
  });

  it('answers an unknown route with an OpenAI error the client understands', async () => {
    const err = await client.post('/unknown', { body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ status: 404, code: 'SB_ERR_NOT_FOUND', type: 'not_found_error' });
  });

  it('stops an upstream stream at once when the client aborts, and frees its slot', async () => {
    for (const p of pods) {
      p.chunks = 500;
      p.chunkDelayMs = 10;
    }
    try {
      const { data: stream, response } = await client.completions
        .create({ model: 'base-model', prompt: 'long story', max_tokens: 500, stream: true })
        .withResponse();
      const pod = pods.find((p) => p.key === response.headers.get(SERVED)) as VllmPod;
      const { aborted, completed } = pod.stats;
      let n = 0;
      for await (const _chunk of stream) if (++n === 3) break; // leaving the loop aborts the request
      await until(() => pod.stats.aborted === aborted + 1);
      expect(pod.stats.inflight).toBe(0);
      expect(pod.stats.completed).toBe(completed);
    } finally {
      for (const p of pods) {
        p.chunks = 5;
        p.chunkDelayMs = 0;
      }
    }
  });

  it('retries a pod that refuses connections on another pod; the client sees success', async () => {
    // Make the refusing pod the best pick by far, then stop it.
    const dead = pods[2];
    pods[0].waiting = 20;
    pods[1].waiting = 20;
    await scraped();
    const retriesBefore = await metricValue('switchboard_proxy_retries_total{kind="repick"}');
    const deadRequests = dead.stats.requests;
    await dead.stop();
    try {
      for (let i = 0; i < 3; i++) {
        const { data, response } = await client.completions.create({ model: 'base-model', prompt: `retry ${i}`, max_tokens: 2 }).withResponse();
        expect(data.object).toBe('text_completion');
        expect([pods[0].key, pods[1].key]).toContain(response.headers.get(SERVED));
      }
      expect(dead.stats.requests).toBe(deadRequests);
      expect(await metricValue('switchboard_proxy_retries_total{kind="repick"}')).toBe(retriesBefore + 3);
    } finally {
      await dead.start(dead.port);
    }
  });

  it('ends the stream of a pod that dies mid-stream with a clean error; the next request goes elsewhere', async () => {
    const victim = pods[2];
    pods[0].waiting = 20;
    pods[1].waiting = 20;
    await scraped();
    victim.chunks = 20;
    victim.chunkDelayMs = 5;
    victim.crashAfterChunks = 3;
    const errorsBefore = await metricValue('inference_objective_request_error_total{model_name="base-model",target_model_name="base-model",error_code="SB_ERR_UPSTREAM_BROKEN"}');
    try {
      const { data: stream, response } = await client.completions
        .create({ model: 'base-model', prompt: 'doomed', max_tokens: 20, stream: true })
        .withResponse();
      expect(response.headers.get(SERVED)).toBe(victim.key);
      const seen: string[] = [];
      const err = await (async () => {
        for await (const chunk of stream) seen.push(chunk.choices[0].text);
      })().catch((e: unknown) => e);
      expect(seen.length).toBe(3);
      expect(err).toBeInstanceOf(APIError);
      expect(err).toMatchObject({ code: 'SB_ERR_UPSTREAM_BROKEN', type: 'upstream_error' });

      // The dead pod still looks best to the scheduler; the proxy must route around it.
      const { response: next } = await client.completions.create({ model: 'base-model', prompt: 'after', max_tokens: 2 }).withResponse();
      expect([pods[0].key, pods[1].key]).toContain(next.headers.get(SERVED));
      expect(
        await metricValue('inference_objective_request_error_total{model_name="base-model",target_model_name="base-model",error_code="SB_ERR_UPSTREAM_BROKEN"}'),
      ).toBe(errorsBefore + 1);
    } finally {
      victim.chunks = 5;
      victim.chunkDelayMs = 0;
      await victim.start(victim.port);
    }
  });
});
