/**
 * The proxy in front of the simulator's real HTTP pods (engine model, vLLM /metrics, LoRA
 * adapters), with the real core scraping them and the openai client as the caller.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCore, startProxy } from '../../harness/index.js';
import type { ProxyServer } from '../../src/frontends/proxy/index.js';
import { startSimFleet, type SimFleet } from '../../src/sim/pod/fleet.js';
import type { Switchboard } from '../../src/switchboard.js';
import { until } from '../support/net.js';

let fleet: SimFleet;
let core: Switchboard;
let proxy: ProxyServer;
let client: OpenAI;

beforeAll(async () => {
  fleet = await startSimFleet({ pods: 3, loraModules: [{ name: 'sql-lora' }] });
  core = await startCore({ endpoints: fleet.pods.map((p) => ({ address: p.address, port: p.port })), collector: { intervalMs: 25 }, scrapedWithinMs: 0 });
  proxy = await startProxy(core.director, core.pool, { settings: { modelsRefreshMs: 0 } });
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'test', maxRetries: 0 });
  await until(() => core.pool.endpoints().every((ep) => ep.health.ok));
});

afterAll(async () => {
  await proxy.close();
  await core.close();
  await fleet.close();
});

describe('proxy in front of simulated vLLM pods', () => {
  it('serves completions and chat, streamed and not, with usage', async () => {
    const done = await client.completions.create({ model: fleet.modelName, prompt: 'The quick brown fox', max_tokens: 4 });
    expect(done.usage?.completion_tokens).toBe(4);

    const stream = await client.chat.completions.create({
      model: 'sql-lora',
      messages: [{ role: 'user', content: 'Count the rows' }],
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      if (chunk.choices.length > 0) chunks++;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBe(6);
  });

  it('lists the base model and the adapter with its parent', async () => {
    const models: Array<{ id: string; parent?: string | null }> = [];
    for await (const m of client.models.list()) models.push(m as { id: string; parent?: string | null });
    expect(models.map((m) => [m.id, m.parent ?? null])).toEqual([
      [fleet.modelName, null],
      ['sql-lora', fleet.modelName],
    ]);
  });

  it('leaves nothing in flight', async () => {
    await until(() => proxy.activeRequests === 0);
    for (const ep of core.pool.endpoints()) expect(core.pool.inflight[ep.slot]).toBe(0);
  });
});
