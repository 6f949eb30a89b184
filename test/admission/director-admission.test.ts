/**
 * Admission through the real director: flow control against pods whose /metrics are real HTTP
 * servers scraped by the real collector, the concurrency detector released by request
 * completion, token budgets charged from response usage, guards, model rewrites and metrics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Decision, InferenceRequest, RoutedDecision } from '../../src/director/types.js';
import { createSwitchboard, type Switchboard } from '../../src/switchboard.js';
import { MetricsServer, vllmPage } from '../support/metrics-server.js';
import { ManualClock, seeded, snapshot } from '../support/pool.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

function req(body: object, headers: Record<string, string> = {}, signal?: AbortSignal): InferenceRequest {
  return {
    requestId: 'r',
    path: '/v1/chat/completions',
    headers: { get: (n) => headers[n] },
    body: Buffer.from(JSON.stringify(body)),
    subset: null,
    signal,
  };
}
const chat = (content = 'hello', model = 'm', extra: object = {}) => ({ model, messages: [{ role: 'user', content }], ...extra });
const routed = (d: Decision): RoutedDecision => {
  if (d.kind !== 'route') throw new Error(`rejected: ${d.error.message}`);
  return d;
};
const rejected = (d: Decision) => {
  if (d.kind !== 'reject') throw new Error('expected a rejection');
  return `${d.error.status} ${d.error.code}`;
};
const metric = async (sb: Switchboard, name: string) => (await sb.telemetry!.registry.metrics()).split('\n').filter((l) => l.startsWith(name));

/** Resolves with `p`, or fails after `ms` (bounded waits only). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms).unref())]);
}
/** Resolves once every endpoint of `sb` has metrics recorded after this call. */
function freshScrape(sb: Switchboard): Promise<void> {
  return new Promise((resolve) => {
    const seen = new Set<string>();
    const off = sb.pool.onMetrics((ep) => {
      seen.add(ep.key);
      if (seen.size === sb.pool.size) {
        off();
        resolve();
      }
    });
  });
}
const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 30));
  return done;
};

describe('flow control through the director, real pods scraped over HTTP', () => {
  it('queues while the pool is saturated, sheds sheddable requests, and dispatches when a scrape shows room', async () => {
    const pods = await Promise.all([new MetricsServer().start(), new MetricsServer().start()]);
    open.push(...pods);
    for (const p of pods) p.page = vllmPage({ waiting: 10, kv: 0.5 });
    const sb = createSwitchboard({
      config: parseConfig(`
featureGates: [flowControl]
plugins:
- type: queue-scorer
- type: utilization-detector
  parameters: {metricsStalenessThreshold: 2s}
schedulingProfiles: [{name: default, plugins: [{pluginRef: queue-scorer}]}]
saturationDetector: {pluginRef: utilization-detector}
flowControl: {defaultRequestTTL: 10s}
objectives: [{name: batch, priority: -1}, {name: premium, priority: 10}]
`),
      endpoints: pods.map((p, i) => ({ address: '127.0.0.1', port: p.port, name: `pod-${i}` })),
      collector: { intervalMs: 20 },
      poolName: 'pool-a',
      rng: seeded(1),
    });
    open.push(sb);
    await within(freshScrape(sb), 5000, 'first scrape');

    const queued = sb.director.handleRequest(req(chat(), { 'x-gateway-inference-fairness-id': 'tenant-a' }));
    expect(await settled(queued)).toBe(false);
    expect(sb.flowControl!.size).toBe(1);
    expect(await metric(sb, 'inference_extension_flow_control_queue_size')).toContain(
      'inference_extension_flow_control_queue_size{fairness_id="tenant-a",priority="0",inference_pool="pool-a",model_name="m",target_model_name="m"} 1',
    );
    expect(await metric(sb, 'inference_extension_flow_control_pool_saturation')).toContain('inference_extension_flow_control_pool_saturation{inference_pool="pool-a"} 2');
    expect(rejected(await sb.director.handleRequest(req(chat(), { 'x-gateway-inference-objective': 'batch' })))).toBe('429 SB_ERR_SHED');

    const gone = new AbortController();
    const abandoned = sb.director.handleRequest(req(chat(), {}, gone.signal));
    const premium = sb.director.handleRequest(req(chat(), { 'x-gateway-inference-objective': 'premium' }));
    gone.abort();
    expect(rejected(await abandoned)).toBe('503 SB_ERR_CLIENT_GONE');

    for (const p of pods) p.page = vllmPage({ waiting: 0, kv: 0.1 });
    const [first, second] = await within(Promise.all([premium, queued]), 5000, 'dispatch after the scrape');
    expect(routed(first).lifecycle).toBeDefined();
    expect(routed(second).targetModel).toBe('m');
    expect(sb.flowControl!.size).toBe(0);
    const durations = await metric(sb, 'inference_extension_flow_control_request_queue_duration_seconds_count');
    expect(durations).toContain(
      'inference_extension_flow_control_request_queue_duration_seconds_count{fairness_id="tenant-a",priority="0",outcome="Dispatched",inference_pool="pool-a",model_name="m",target_model_name="m"} 1',
    );
    expect(durations).toContain(
      'inference_extension_flow_control_request_queue_duration_seconds_count{fairness_id="default-flow",priority="0",outcome="EvictedContextCancelled",inference_pool="pool-a",model_name="m",target_model_name="m"} 1',
    );
    expect(await metric(sb, 'inference_objective_request_error_total')).toContain(
      'inference_objective_request_error_total{model_name="m",target_model_name="m",error_code="SB_ERR_CLIENT_GONE"} 1',
    );
  });
});

/** A core over manually fed pods (no scraping), for deterministic admission checks. */
function core(extra: string, pods = 1): Switchboard & { clock: ManualClock } {
  const clock = new ManualClock();
  const sb = createSwitchboard({
    config: parseConfig(extra.includes('plugins:') ? extra : `plugins: [{type: queue-scorer}]\n${extra}`),
    clock,
    rng: seeded(3),
    scrape: false,
    poolName: 'p',
  });
  for (let i = 0; i < pods; i++) sb.pool.recordMetrics(sb.pool.upsert({ name: `pod-${i}`, address: `10.0.0.${i + 1}`, port: 8000 }), snapshot({}));
  open.push(sb);
  return Object.assign(sb, { clock });
}

describe('admission through the director', () => {
  it('concurrency detector: a queued request leaves when a routed one finishes (no polling needed)', async () => {
    const sb = core(`
featureGates: [flowControl]
plugins: [{type: queue-scorer}, {type: concurrency-detector, parameters: {maxConcurrency: 1}}]
saturationDetector: {pluginRef: concurrency-detector}
flowControl: {recheckInterval: 1h}
`);
    const first = routed(await sb.director.handleRequest(req(chat())));
    const second = sb.director.handleRequest(req(chat()));
    expect(await settled(second)).toBe(false);
    first.lifecycle.finish('ok');
    const d = routed(await within(second, 1000, 'release on finish'));
    expect(sb.pool.inflight[d.endpoints[0].slot]).toBe(1);
  });

  it('scale from zero: requests wait while the pool is empty and go when the first endpoint appears', async () => {
    const sb = core(
      `
featureGates: [flowControl]
plugins: [{type: queue-scorer}, {type: concurrency-detector, parameters: {maxConcurrency: 4}}]
saturationDetector: {pluginRef: concurrency-detector}
flowControl: {recheckInterval: 1h}
`,
      0,
    );
    const waiting = sb.director.handleRequest(req(chat()));
    expect(await settled(waiting)).toBe(false);
    sb.pool.upsert({ name: 'cold-start', address: '10.0.0.9', port: 8000 });
    expect(routed(await within(waiting, 1000, 'dispatch on the new endpoint')).destination).toBe('10.0.0.9:8000');
  });

  it('token budget: a failed upstream call without usage is not charged', async () => {
    const sb = core('tokenBudgets: {default: {inputTokensPerMinute: 1}}');
    const d = routed(await sb.director.handleRequest(req(chat('x'.repeat(400)))));
    d.lifecycle.responseHeaders(503, 'text/plain');
    d.lifecycle.finish('error', 'upstream_503');
    routed(await sb.director.handleRequest(req(chat())));
    expect(await metric(sb, 'switchboard_token_budget_charged_tokens_total{')).toEqual([]);
  });

  it('token budget: usage charged at finish; the next request of that flow gets 429 with retryAfterSeconds, others pass', async () => {
    const sb = core('tokenBudgets: {default: {inputTokensPerMinute: 100}}');
    const tenant = { 'x-gateway-inference-fairness-id': 'tenant-a' };
    const d = routed(await sb.director.handleRequest(req(chat(), tenant)));
    d.lifecycle.responseHeaders(200, 'application/json');
    d.lifecycle.responseBody(Buffer.from('{"model":"m","usage":{"prompt_tokens":160,"completion_tokens":5,"total_tokens":165}}'), true);
    d.lifecycle.finish('ok');
    const refused = await sb.director.handleRequest(req(chat(), tenant));
    if (refused.kind !== 'reject') throw new Error('expected a rejection');
    expect([refused.error.status, refused.error.retryAfterSeconds]).toEqual([429, 37]);
    routed(await sb.director.handleRequest(req(chat(), { 'x-gateway-inference-fairness-id': 'tenant-b' })));
    sb.clock.advance(37_000);
    routed(await sb.director.handleRequest(req(chat(), tenant)));
    expect(await metric(sb, 'switchboard_token_budget_rejections_total')).toContain('switchboard_token_budget_rejections_total{fairness_id="tenant-a",direction="input"} 1');
    expect(await metric(sb, 'switchboard_token_budget_charged_tokens_total')).toContain(
      'switchboard_token_budget_charged_tokens_total{fairness_id="tenant-a",direction="input"} 160',
    );
  });

  it("a front door's retry is not admitted again and its failed attempt is not charged; the final attempt is", async () => {
    const sb = core('tokenBudgets: {default: {inputTokensPerMinute: 100}}', 2);
    const first = routed(await sb.director.handleRequest(req(chat())));
    const other = routed(await sb.director.handleRequest(req(chat())));
    other.lifecycle.responseBody(Buffer.from('{"usage":{"prompt_tokens":500,"completion_tokens":1,"total_tokens":501}}'), true);
    other.lifecycle.finish('ok'); // the flow is now over budget
    first.lifecycle.finish('retried');
    const retry = routed(await sb.director.handleRequest({ ...req(chat()), retry: true, exclude: new Set([first.endpoints[0].key]) }));
    expect(retry.endpoints[0].key).not.toBe(first.endpoints[0].key);
    retry.lifecycle.responseBody(Buffer.from('{"usage":{"prompt_tokens":7,"completion_tokens":1,"total_tokens":8}}'), true);
    retry.lifecycle.finish('ok');
    expect(await metric(sb, 'switchboard_token_budget_charged_tokens_total{')).toEqual([
      'switchboard_token_budget_charged_tokens_total{fairness_id="default-flow",direction="input"} 507',
      'switchboard_token_budget_charged_tokens_total{fairness_id="default-flow",direction="output"} 2',
    ]);
    expect(rejected(await sb.director.handleRequest(req(chat())))).toBe('429 SB_ERR_RATE_LIMITED');
  });

  it('prompt guard: 403 with the reason, counted, and the prompt appears nowhere in the metrics', async () => {
    const sb = core("promptGuards: [{type: local-policy, name: pii, denyPatterns: ['\\d{3}-\\d{2}-\\d{4}']}]");
    const d = await sb.director.handleRequest(req(chat('my ssn is 123-45-6789')));
    if (d.kind !== 'reject') throw new Error('expected a rejection');
    expect([d.error.status, d.error.message]).toEqual([403, 'request denied by pii: prompt matches deny pattern 1']);
    routed(await sb.director.handleRequest(req(chat('hello'))));
    const text = await sb.telemetry!.registry.metrics();
    expect(text).toContain('switchboard_prompt_guard_decisions_total{guard="pii",decision="deny"} 1');
    expect(text).toContain('switchboard_prompt_guard_decisions_total{guard="pii",decision="allow"} 1');
    expect(text).toContain('inference_objective_request_error_total{model_name="m",target_model_name="m",error_code="SB_ERR_GUARD_DENIED"} 1');
    expect(text).not.toContain('123-45-6789');
  });

  it('model rewrite: the client sees the model it asked for, metrics label both names and count the decision', async () => {
    const sb = core('modelRewrites: [{name: canary, model: chat, targets: [{model: chat-v2, weight: 1}, {model: chat-v1, weight: 0}]}]');
    const d = routed(await sb.director.handleRequest(req(chat('hi', 'chat'))));
    expect(JSON.parse(d.body!.toString()).model).toBe('chat-v2');
    d.lifecycle.responseHeaders(200, 'application/json');
    const out = d.lifecycle.responseBody(Buffer.from('{"id":"x","model":"chat-v2","choices":[]}'), true);
    expect(JSON.parse(out!.toString()).model).toBe('chat');
    d.lifecycle.finish('ok');
    const s = routed(await sb.director.handleRequest(req(chat('hi', 'chat', { stream: true }))));
    s.lifecycle.responseHeaders(200, 'text/event-stream');
    expect(s.lifecycle.responseBody(Buffer.from('data: {"model":"chat-v2","choices":[]}\n\n'), false)?.toString()).toBe('data: {"model":"chat","choices":[]}\n\n');
    s.lifecycle.finish('ok');
    expect(await metric(sb, 'inference_extension_model_rewrite_decisions_total')).toContain(
      'inference_extension_model_rewrite_decisions_total{model_rewrite_name="canary",model_name="chat",target_model="chat-v2"} 2',
    );
    expect(await metric(sb, 'inference_objective_request_total')).toContain(
      'inference_objective_request_total{model_name="chat",target_model_name="chat-v2",priority="0"} 2',
    );
    // The header overrides the rules and is not a rule decision.
    const h = routed(await sb.director.handleRequest(req(chat('hi', 'chat'), { 'x-gateway-model-name-rewrite': 'pinned' })));
    expect(h.targetModel).toBe('pinned');
    expect(await metric(sb, 'inference_extension_model_rewrite_decisions_total{')).toHaveLength(1);
  });

  it('uniform choice when every weight is 0', async () => {
    const sb = core('modelRewrites: [{model: chat, targets: [{model: a}, {model: b}]}]');
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add(routed(await sb.director.handleRequest(req(chat('hi', 'chat')))).targetModel);
    expect([...seen].sort()).toEqual(['a', 'b']);
  });
});
