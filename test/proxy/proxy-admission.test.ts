/**
 * Admission through the OpenAI proxy door, with the official `openai` client as the caller, the
 * real core and real HTTP pods: model rewrites seen as the model asked for, prompt guards (403),
 * token budgets (429 with retry-after), shedding, and flow control (strict priority, release of
 * a queued request whose client disconnects).
 */
import OpenAI, { APIError, APIUserAbortError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startCore, startProxy } from '../../harness/index.js';
import type { ProxyServer } from '../../src/frontends/proxy/index.js';
import type { Switchboard } from '../../src/switchboard.js';
import { until } from '../support/net.js';
import { seeded } from '../support/pool.js';
import { VllmPod } from '../support/vllm-pod.js';

interface Env {
  pods: VllmPod[];
  core: Switchboard;
  proxy: ProxyServer;
  client: OpenAI;
}
let env: Env | null = null;
afterEach(async () => {
  if (env === null) return;
  await env.proxy.close();
  await env.core.close();
  await Promise.all(env.pods.map((p) => p.stop()));
  env = null;
});

async function start(config: string, pods: VllmPod[]): Promise<Env> {
  await Promise.all(pods.map((p) => p.start()));
  const core = await startCore({
    config: parseConfig(config),
    endpoints: pods.map((p) => p.spec),
    rng: seeded(7),
    stalenessMs: 600_000,
    collector: { intervalMs: 20, timeoutMs: 500 },
  });
  const proxy = await startProxy(core.director, core.pool, { registry: core.telemetry?.registry ?? null, settings: { modelsRefreshMs: 0 } });
  const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'test', maxRetries: 0 });
  return (env = { pods, core, proxy, client });
}

async function thrown(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof APIError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const POLICY = `plugins: [{type: queue-scorer}, {type: max-score-picker}]
objectives: [{name: batch, priority: -1}]
modelRewrites: [{name: alias-rule, model: alias, targets: [{model: base-model, weight: 1}]}]
promptGuards: [{type: local-policy, name: pii, denyPatterns: ['\\d{3}-\\d{2}-\\d{4}']}]
tokenBudgets: {flows: [{fairnessId: metered, inputTokensPerMinute: 5}]}
`;

describe('admission through the proxy', () => {
  it('answers with the model the client asked for, streamed or not, while the pod serves the target', async () => {
    const { client, pods } = await start(POLICY, [new VllmPod()]);
    const done = await client.completions.create({ model: 'alias', prompt: 'hi', max_tokens: 2 });
    expect(done.model).toBe('alias');
    expect(pods[0].stats.lastBody?.model).toBe('base-model');
    const stream = await client.chat.completions.create({ model: 'alias', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true });
    const models = new Set<string>();
    for await (const chunk of stream) models.add(chunk.model);
    expect([...models]).toEqual(['alias']);
  });

  it('denies a guarded prompt with 403 and the reason in the OpenAI error shape', async () => {
    const { client, pods } = await start(POLICY, [new VllmPod()]);
    const err = await thrown(client.completions.create({ model: 'base-model', prompt: 'my ssn is 123-45-6789', max_tokens: 2 }));
    expect([err.status, err.code, err.type, err.message]).toEqual([403, 'SB_ERR_GUARD_DENIED', 'permission_error', '403 request denied by pii: prompt matches deny pattern 1']);
    expect(pods[0].stats.requests).toBe(0);
  });

  it('answers a spent token budget with 429 and retry-after; other flows pass', async () => {
    const { client } = await start(POLICY, [new VllmPod()]);
    const metered = { headers: { 'x-gateway-inference-fairness-id': 'metered' } };
    await client.completions.create({ model: 'base-model', prompt: 'hi', max_tokens: 2 }, metered); // the pod reports 7 prompt tokens
    const err = await thrown(client.completions.create({ model: 'base-model', prompt: 'hi', max_tokens: 2 }, metered));
    expect([err.status, err.code, err.type]).toEqual([429, 'SB_ERR_RATE_LIMITED', 'rate_limit_error']);
    // 3 tokens short at 5 per minute: 36 s, less the (real) time since the charge.
    const retryAfter = Number(err.headers?.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(35);
    expect(retryAfter).toBeLessThanOrEqual(36);
    await client.completions.create({ model: 'base-model', prompt: 'hi', max_tokens: 2 });
  });

  it('flow control: sheds batch, serves priority first, and frees a queued request whose client disconnects', async () => {
    const pod = new VllmPod({ chunks: 4, chunkDelayMs: 40 });
    const { client, core } = await start(
      `featureGates: [flowControl]
plugins: [{type: queue-scorer}, {type: max-score-picker}, {type: concurrency-detector, parameters: {maxConcurrency: 1}}]
saturationDetector: {pluginRef: concurrency-detector}
objectives: [{name: batch, priority: -1}, {name: premium, priority: 10}]
flowControl: {defaultRequestTTL: 10s}
`,
      [pod],
    );
    const flow = core.flowControl!;
    const finished: string[] = [];
    const streamAll = async (name: string, headers: Record<string, string> = {}, signal?: AbortSignal) => {
      const s = await client.completions.create({ model: 'base-model', prompt: name, max_tokens: 4, stream: true }, { headers, signal });
      for await (const _ of s) void _;
      finished.push(name);
    };
    const running = streamAll('running');
    await until(() => pod.stats.inflight === 1);

    const shed = await thrown(client.completions.create({ model: 'base-model', prompt: 'b', max_tokens: 1 }, { headers: { 'x-gateway-inference-objective': 'batch' } }));
    expect([shed.status, shed.code]).toEqual([429, 'SB_ERR_SHED']);

    const normal = streamAll('normal');
    await until(() => flow.size === 1);
    const premium = streamAll('premium', { 'x-gateway-inference-objective': 'premium' });
    const leaving = new AbortController();
    const gone = streamAll('gone', {}, leaving.signal).catch((e: unknown) => e);
    await until(() => flow.size === 3);
    leaving.abort();
    expect(await gone).toBeInstanceOf(APIUserAbortError);
    await until(() => flow.size === 2);

    await Promise.all([running, normal, premium]);
    expect(finished).toEqual(['running', 'premium', 'normal']);
    expect(pod.stats.requests).toBe(3);
    const text = await core.telemetry!.registry.metrics();
    expect(text).toMatch(/inference_extension_flow_control_request_queue_duration_seconds_count\{fairness_id="default-flow",priority="0",outcome="EvictedContextCancelled"[^}]*\} 1/);
  });
});
