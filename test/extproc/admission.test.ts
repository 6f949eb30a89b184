/**
 * Admission through the ext_proc front door, end to end with real parts: Envoy-faithful client ->
 * gRPC ext_proc server -> real core scraping /metrics HTTP servers. Shedding, flow control
 * (waiting, release on gateway reset, dispatch when a scrape shows room), prompt guards, token
 * budgets with `retry-after`, and the model name mapped back on the response.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { header } from '../support/envoy-client.js';
import { eventually, upstreamOf } from '../support/extproc-harness.js';
import { startHermetic, type Hermetic } from '../support/hermetic.js';
import { HERMETIC_CONFIG as SCHEDULING } from '../support/scheduling.js';

let env: Hermetic | null = null;
afterEach(async () => {
  await env?.close();
  env = null;
});

const CONFIG = `${SCHEDULING.replace('- type: max-score-picker\n', '- type: max-score-picker\n- type: utilization-detector\n  parameters: {metricsStalenessThreshold: 2s}\n').trimEnd()}
saturationDetector: {pluginRef: utilization-detector}
objectives: [{name: batch, priority: -1}, {name: premium, priority: 10}]
modelRewrites: [{name: canary, model: chat, targets: [{model: chat-v2, weight: 1}]}]
promptGuards: [{type: local-policy, name: pii, denyPatterns: ['\\d{3}-\\d{2}-\\d{4}']}]
tokenBudgets: {flows: [{fairnessId: metered, inputTokensPerMinute: 6}]}
`;
const FLOW = `featureGates: [flowControl]\nflowControl: {defaultRequestTTL: 10s}\n`;
const IDLE = [{ waiting: 0, kv: 0.1 }, { waiting: 0, kv: 0.1 }];
const BUSY = [{ waiting: 10, kv: 0.5 }, { waiting: 10, kv: 0.5 }];

const body = (prompt = 'hello', model = 'm', extra: object = {}) => JSON.stringify({ model, prompt, max_tokens: 10, ...extra });
const line = (text: string, name: string, labels: Record<string, string>) =>
  text.split('\n').find((l) => l.startsWith(name + '{') && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));

describe('admission through ext_proc', () => {
  it('sheds sheddable requests with 429 while saturated and denies guarded prompts with 403', async () => {
    env = await startHermetic(BUSY, { config: CONFIG });
    const shed = await env.envoy.request({ path: '/v1/completions', headers: { 'x-gateway-inference-objective': 'batch' }, body: body() });
    expect(shed).toMatchObject({ kind: 'local-reply', status: 429, body: 'inference error: ResourceExhausted - system saturated, sheddable request dropped' });
    upstreamOf(await env.envoy.request({ path: '/v1/completions', body: body() }));
    const denied = await env.envoy.request({ path: '/v1/completions', body: body('ssn 123-45-6789') });
    expect(denied).toMatchObject({ kind: 'local-reply', status: 403, body: 'inference error: Forbidden - request denied by pii: prompt matches deny pattern 1' });
    const text = await env.metricsText();
    expect(line(text, 'switchboard_prompt_guard_decisions_total', { guard: 'pii', decision: 'deny' })).toMatch(/ 1$/);
    expect(text).not.toContain('123-45-6789');
  });

  it('answers a spent token budget with 429 and retry-after, charged from the response usage', async () => {
    env = await startHermetic(IDLE, { config: CONFIG });
    const headers = { 'x-gateway-inference-fairness-id': 'metered' };
    const ex = env.envoy.open();
    upstreamOf(await ex.sendRequest({ path: '/v1/completions', headers, body: body() }));
    const down = await ex.sendResponse({
      status: 200,
      headers: { 'content-type': 'application/json' },
      chunks: ['{"model":"m","choices":[],"usage":{"prompt_tokens":900,"completion_tokens":3,"total_tokens":903}}'],
    });
    expect(down.kind).toBe('downstream');
    ex.end();
    await eventually(async () => line(await env!.metricsText(), 'switchboard_token_budget_charged_tokens_total', { fairness_id: 'metered' }) !== undefined);
    const refused = await env.envoy.request({ path: '/v1/completions', headers, body: body() });
    if (refused.kind !== 'local-reply') throw new Error('expected a local reply');
    expect(refused.status).toBe(429);
    // 895 tokens short at 0.1 token/s: 8950 s, less the (real) time since the charge.
    const retryAfter = Number(header(refused.headers ?? [], 'retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(8940);
    expect(retryAfter).toBeLessThanOrEqual(8950);
    upstreamOf(await env.envoy.request({ path: '/v1/completions', headers: { 'x-gateway-inference-fairness-id': 'other' }, body: body() }));
  });

  it('shows the client the model it asked for after a rewrite, and counts the rule decision', async () => {
    env = await startHermetic(IDLE, { config: CONFIG });
    const ex = env.envoy.open();
    const up = upstreamOf(await ex.sendRequest({ path: '/v1/completions', body: body('hi', 'chat') }));
    expect(JSON.parse(up.body.toString()).model).toBe('chat-v2');
    const down = await ex.sendResponse({ status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{"id":"1","model":"chat-v2","choices":[]}'] });
    ex.end();
    if (down.kind !== 'downstream') throw new Error('expected a downstream response');
    expect(JSON.parse(down.body.toString()).model).toBe('chat');
    expect(line(await env.metricsText(), 'inference_extension_model_rewrite_decisions_total', { model_rewrite_name: 'canary', model_name: 'chat', target_model: 'chat-v2' })).toMatch(/ 1$/);
  });

  it('flow control: holds requests while saturated, frees a queued one when the gateway resets, dispatches when a scrape shows room', async () => {
    env = await startHermetic(BUSY, { config: CONFIG + FLOW });
    const flow = env.core.flowControl!;
    const gone = env.envoy.open();
    const abandoned = gone.sendRequest({ path: '/v1/completions', body: body('first') }).catch(() => null);
    await eventually(() => flow.size === 1);
    gone.end(); // Envoy resets the stream: the client went away
    await eventually(() => flow.size === 0);
    await abandoned;
    expect(line(await env.metricsText(), 'inference_extension_flow_control_request_queue_duration_seconds_count', { outcome: 'EvictedContextCancelled' })).toMatch(/ 1$/);

    const waiting = env.envoy.request({ path: '/v1/completions', headers: { 'x-gateway-inference-fairness-id': 'tenant-a' }, body: body('second') });
    await eventually(() => flow.size === 1);
    expect(line(await env.metricsText(), 'inference_extension_flow_control_queue_size', { fairness_id: 'tenant-a' })).toMatch(/ 1$/);
    await env.setPods(IDLE);
    const out = upstreamOf(await waiting);
    expect(header(out.headers, 'x-gateway-destination-endpoint')).toMatch(/^127\.0\.0\.[12]:8000$/);
    expect(line(await env.metricsText(), 'inference_extension_flow_control_request_queue_duration_seconds_count', { fairness_id: 'tenant-a', outcome: 'Dispatched' })).toMatch(/ 1$/);
  });
});
