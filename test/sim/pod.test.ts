import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimFleet, type SimFleet } from '../../src/sim/pod/fleet.js';
import type { Engine } from '../../src/sim/engine/engine.js';
import { synthText } from '../../src/workload/tokenizer.js';

let fleet: SimFleet;

/** Waits (bounded) until `engine` runs a request. */
async function untilRunning(engine: Engine): Promise<void> {
  for (let i = 0; i < 500 && engine.running.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
}
let client: OpenAI;

beforeAll(async () => {
  fleet = await startSimFleet({
    pods: 2,
    engine: { numGpuBlocks: 2000, maxLoras: 2 },
    modelName: 'sim-llama',
    loraModules: [{ name: 'sql-lora', path: '/adapters/sql' }],
  });
  client = new OpenAI({ baseURL: `${fleet.pods[0].url}/v1`, apiKey: 'none', maxRetries: 0 });
});

afterAll(async () => {
  await fleet.close();
});

describe('simulated pod: OpenAI API', () => {
  it('listens on distinct loopback ports', () => {
    expect(fleet.pods).toHaveLength(2);
    expect(fleet.pods[0].address).toBe('127.0.0.1');
    expect(fleet.pods[0].port).not.toBe(fleet.pods[1].port);
  });

  it('answers a non-streamed completion with usage', async () => {
    const prompt = synthText(1, 40);
    const r = await client.completions.create({ model: 'sim-llama', prompt, max_tokens: 5 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.choices[0].text.length).toBe(20);
    expect(r.usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 5, total_tokens: 45 });
  });

  it('accepts a prompt of token ids and rejects batched prompts', async () => {
    const r = await client.completions.create({ model: 'sim-llama', prompt: [11, 22, 33, 44, 55], max_tokens: 3 });
    expect(r.usage?.prompt_tokens).toBe(5);
    await expect(client.completions.create({ model: 'sim-llama', prompt: ['a', 'b'], max_tokens: 3 })).rejects.toMatchObject({ status: 400 });
  });

  it('streams a chat completion with a final usage chunk and reports cached tokens on a repeat', async () => {
    const messages = [
      { role: 'system' as const, content: synthText(2, 300) },
      { role: 'user' as const, content: 'What is in the cache?' },
    ];
    const run = async () => {
      const stream = await client.chat.completions.create({
        model: 'sim-llama',
        messages,
        max_tokens: 8,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let usage: OpenAI.CompletionUsage | null | undefined = null;
      let finish: string | null = null;
      let contentChunks = 0;
      for await (const chunk of stream) {
        if (chunk.choices.length > 0) {
          text += chunk.choices[0].delta.content ?? '';
          finish = chunk.choices[0].finish_reason ?? finish;
          contentChunks++;
        }
        if (chunk.usage) usage = chunk.usage;
      }
      return { text, usage, finish, contentChunks };
    };
    const first = await run();
    expect(first.contentChunks).toBe(8);
    expect(first.finish).toBe('length');
    expect(first.text.length).toBe(32);
    expect(first.usage?.completion_tokens).toBe(8);
    expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    const second = await run();
    expect(second.text).toBe(first.text);
    expect(second.usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThanOrEqual(288);
  });

  it('serves a registered LoRA adapter and rejects unknown models with 404', async () => {
    const r = await client.completions.create({ model: 'sql-lora', prompt: 'select', max_tokens: 2 });
    expect(r.model).toBe('sql-lora');
    await expect(client.completions.create({ model: 'nope', prompt: 'x', max_tokens: 2 })).rejects.toMatchObject({ status: 404 });
  });

  it('loads and unloads adapters at run time and lists them in /v1/models with their parent', async () => {
    const url = fleet.pods[1].url;
    const load = await fetch(`${url}/v1/load_lora_adapter`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lora_name: 'food-review', lora_path: '/adapters/food' }),
    });
    expect(load.status).toBe(200);
    expect(await load.text()).toMatch(/added successfully/);
    const c1 = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 });
    const models = await c1.models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toEqual(['sim-llama', 'sql-lora', 'food-review']);
    const food = models.data.find((m) => m.id === 'food-review') as unknown as { parent: string; root: string };
    expect(food.parent).toBe('sim-llama');
    expect(food.root).toBe('/adapters/food');
    const again = await fetch(`${url}/v1/load_lora_adapter`, {
      method: 'POST',
      body: JSON.stringify({ lora_name: 'food-review', lora_path: '/x' }),
    });
    expect(again.status).toBe(400);
    const unload = await fetch(`${url}/v1/unload_lora_adapter`, { method: 'POST', body: JSON.stringify({ lora_name: 'food-review' }) });
    expect(unload.status).toBe(200);
    const missing = await fetch(`${url}/v1/unload_lora_adapter`, { method: 'POST', body: JSON.stringify({ lora_name: 'food-review' }) });
    expect(missing.status).toBe(404);
  });

  it('answers bad input with vLLM-style 400 errors and counts them', async () => {
    const url = fleet.pods[0].url;
    const badJson = await fetch(`${url}/v1/completions`, { method: 'POST', body: '{nope' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: { code: 400, type: 'BadRequestError' } });
    await expect(client.completions.create({ model: 'sim-llama', prompt: '', max_tokens: 2 })).rejects.toMatchObject({ status: 400 });
    await expect(
      client.completions.create({ model: 'sim-llama', prompt: 'hi', max_tokens: 10_000_000 }),
    ).rejects.toMatchObject({ status: 400 });
    expect(fleet.pods[0].pod.rejected.get('bad_json')).toBe(1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^switchboard_sim_rejected_requests_total\{reason="bad_json"\} 1\.0$/m);
    expect((await fetch(`${url}/nowhere`)).status).toBe(404);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });
});

describe('simulated pod: /metrics', () => {
  it('exposes vLLM v1 names and label shapes', async () => {
    const text = await (await fetch(`${fleet.pods[0].url}/metrics`)).text();
    for (const line of [
      'vllm:num_requests_waiting{engine="0",model_name="sim-llama"} 0.0',
      'vllm:num_requests_running{engine="0",model_name="sim-llama"} 0.0',
      'vllm:kv_cache_usage_perc{engine="0",model_name="sim-llama"} 0.0',
      'vllm:cache_config_info{block_size="16",cache_dtype="auto",enable_prefix_caching="True",engine="0",kv_cache_size_tokens="32000",num_gpu_blocks="2000"} 1.0',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).toMatch(/^vllm:lora_requests_info\{max_lora="2",running_lora_adapters="",waiting_lora_adapters=""\} \d+\.\d+$/m);
    expect(text).toMatch(/^vllm:prefix_cache_queries_total\{engine="0",model_name="sim-llama"\} [1-9]/m);
    expect(text).toMatch(/^vllm:prefix_cache_hits_total\{engine="0",model_name="sim-llama"\} [1-9]/m);
    expect(text).toMatch(/^vllm:prefix_cache_hits_created\{/m);
    expect(text).toMatch(/^vllm:num_preemptions_total\{engine="0",model_name="sim-llama"\} 0\.0$/m);
    expect(text).toMatch(/^vllm:time_to_first_token_seconds_bucket\{engine="0",model_name="sim-llama",le="\+Inf"\} [1-9]/m);
    expect(text).toMatch(/^vllm:inter_token_latency_seconds_count\{/m);
    expect(text).toMatch(/^vllm:e2e_request_latency_seconds_sum\{/m);
  });

  it('shows running and waiting adapters while requests are in flight', async () => {
    const pod = fleet.pods[0];
    const pending = client.completions.create({ model: 'sql-lora', prompt: synthText(5, 20), max_tokens: 40 });
    await untilRunning(pod.pod.engine);
    const text = await (await fetch(`${pod.url}/metrics`)).text();
    expect(text).toMatch(/vllm:lora_requests_info\{max_lora="2",running_lora_adapters="sql-lora",waiting_lora_adapters=""\}/);
    expect(text).toMatch(/^vllm:num_requests_running\{engine="0",model_name="sim-llama"\} 1\.0$/m);
    await pending;
  });
});

describe('simulated pod: faults', () => {
  it('injects 5xx answers, failing metrics and an unhealthy state', async () => {
    const pod = fleet.pods[1].pod;
    const c = new OpenAI({ baseURL: `${pod.url}/v1`, apiKey: 'none', maxRetries: 0 });
    pod.setFaults({ errorRate: 1, errorStatus: 503, metricsFailRate: 1, unhealthy: true });
    try {
      await expect(c.completions.create({ model: 'sim-llama', prompt: 'x', max_tokens: 2 })).rejects.toMatchObject({ status: 503 });
      expect((await fetch(`${pod.url}/metrics`)).status).toBe(500);
      expect((await fetch(`${pod.url}/health`)).status).toBe(503);
    } finally {
      pod.setFaults({ errorRate: 0, metricsFailRate: 0, unhealthy: false });
    }
    expect((await fetch(`${pod.url}/metrics`)).status).toBe(200);
  });

  it('drops a stream part-way and frees the request in the engine', async () => {
    const pod = fleet.pods[1].pod;
    const c = new OpenAI({ baseURL: `${pod.url}/v1`, apiKey: 'none', maxRetries: 0 });
    pod.setFaults({ dropRate: 1 });
    let received = 0;
    try {
      const stream = await c.completions.create({ model: 'sim-llama', prompt: 'drop me', max_tokens: 20, stream: true });
      await expect(
        (async () => {
          for await (const chunk of stream) received += chunk.choices.length;
        })(),
      ).rejects.toThrow();
    } finally {
      pod.setFaults({ dropRate: 0 });
    }
    expect(received).toBeLessThan(20);
    for (let i = 0; i < 200 && !pod.engine.idle; i++) await new Promise((r) => setTimeout(r, 5));
    expect(pod.engine.idle).toBe(true);
    expect(pod.engine.pool.usedCount).toBe(0);
  });

  it('delays metrics and serves them with a lag', async () => {
    const pod = fleet.pods[1].pod;
    pod.setFaults({ metricsLagMs: 300 });
    try {
      const pending = c2().completions.create({ model: 'sim-llama', prompt: synthText(9, 30), max_tokens: 30 });
      await untilRunning(pod.engine);
      // The engine is running the request, but the lagged page still shows the idle state.
      expect(pod.engine.running.length).toBe(1);
      const text = await (await fetch(`${pod.url}/metrics`)).text();
      expect(text).toMatch(/^vllm:num_requests_running\{engine="0",model_name="sim-llama"\} 0\.0$/m);
      await pending;
    } finally {
      pod.setFaults({ metricsLagMs: 0 });
    }
    pod.setFaults({ metricsDelayMs: 80 });
    try {
      const t0 = performance.now();
      expect((await fetch(`${pod.url}/metrics`)).status).toBe(200);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(70);
    } finally {
      pod.setFaults({ metricsDelayMs: 0 });
    }
    function c2() {
      return new OpenAI({ baseURL: `${pod.url}/v1`, apiKey: 'none', maxRetries: 0 });
    }
  });
});
