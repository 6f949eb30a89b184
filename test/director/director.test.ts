import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Decision, InferenceRequest, RoutedDecision } from '../../src/director/types.js';
import { createSwitchboard, type Switchboard } from '../../src/switchboard.js';
import { ManualClock, seeded, snapshot, type PodMetrics } from '../support/pool.js';
import { HERMETIC_CONFIG } from '../support/scheduling.js';

function core(pods: PodMetrics[], extra = ''): Switchboard & { clock: ManualClock } {
  const clock = new ManualClock();
  const sb = createSwitchboard({ config: parseConfig(HERMETIC_CONFIG + extra), clock, rng: seeded(3), scrape: false });
  pods.forEach((m, i) => {
    const ep = sb.pool.upsert({ name: `pod-${i}`, address: `192.168.1.${i + 1}`, port: 8000 });
    sb.pool.recordMetrics(ep, snapshot(m));
  });
  return Object.assign(sb, { clock });
}

function req(body: object | string | null, headers: Record<string, string> = {}, subset: string[] | null = null, path = '/v1/completions'): InferenceRequest {
  return {
    requestId: 'test-request-id',
    path,
    headers: { get: (n) => headers[n] },
    body: body === null ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    subset,
  };
}

const routed = (d: Decision): RoutedDecision => {
  if (d.kind !== 'route') throw new Error(`rejected: ${d.error.message}`);
  return d;
};
const rejected = (d: Decision) => {
  if (d.kind !== 'reject') throw new Error('expected a rejection');
  return `${d.error.status} ${d.error.message}`;
};
const metric = async (sb: Switchboard, name: string) =>
  (await sb.telemetry!.registry.metrics()).split('\n').filter((l) => l.startsWith(name));

describe('director', () => {
  it('case #1: rewrites my-model to my-model-12345 via the header and routes to the best pod', async () => {
    const sb = core([{ q: 3, kv: 0.2 }, { q: 0, kv: 0.1 }, { q: 10, kv: 0.2 }], '\nobjectives: [{name: my-model, priority: 2}]');
    const d = routed(
      await sb.director.handleRequest(
        req({ prompt: 'test1', max_tokens: 100, temperature: 0, model: 'my-model' }, { 'x-gateway-inference-objective': 'my-model', 'x-gateway-model-name-rewrite': 'my-model-12345' }),
      ),
    );
    expect(d.destination).toBe('192.168.1.2:8000');
    expect(d.bodyRewritten).toBe(true);
    expect(JSON.parse(d.body!.toString())).toEqual({ prompt: 'test1', max_tokens: 100, temperature: 0, model: 'my-model-12345' });
    expect(d.targetModel).toBe('my-model-12345');
    expect(await metric(sb, 'inference_objective_request_total')).toContain(
      'inference_objective_request_total{model_name="my-model",target_model_name="my-model-12345",priority="2"} 1',
    );
  });

  it('forwards the very same buffer when nothing is rewritten', async () => {
    const sb = core([{}]);
    const r = req({ model: 'm', prompt: 'x' });
    const d = routed(await sb.director.handleRequest(r));
    expect(d.body).toBe(r.body);
    expect(d.bodyRewritten).toBe(false);
  });

  it('applies weighted rewrite rules from the config, and the header overrides them', async () => {
    const sb = core([{}], '\nmodelRewrites: [{model: chat, targets: [{model: a, weight: 1}, {model: b, weight: 0}]}]');
    expect(routed(await sb.director.handleRequest(req({ model: 'chat', prompt: 'x' }))).targetModel).toBe('a');
    expect(routed(await sb.director.handleRequest(req({ model: 'chat', prompt: 'x' }, { 'x-gateway-model-name-rewrite': 'z' }))).targetModel).toBe('z');
  });

  it('sheds sheddable requests when saturated (429) and routes the same request at priority 0', async () => {
    const sb = core([{ q: 6, kv: 0.5 }, { q: 2, kv: 0.9 }], '\nobjectives: [{name: batch, priority: -1}]');
    const body = { model: 'm', prompt: 'x' };
    expect(rejected(await sb.director.handleRequest(req(body, { 'x-gateway-inference-objective': 'batch' })))).toBe(
      '429 system saturated, sheddable request dropped',
    );
    routed(await sb.director.handleRequest(req(body)));
    expect(await metric(sb, 'inference_objective_request_error_total')).toContain(
      'inference_objective_request_error_total{model_name="m",target_model_name="m",error_code="SB_ERR_SHED"} 1',
    );
  });

  it('case #6: subset hints pick within the subset, ignore ports, and 503 when nothing matches', async () => {
    const sb = core([{ q: 0 }, { q: 5 }, { q: 10 }]);
    const body = { model: 'm', prompt: 'x' };
    expect(routed(await sb.director.handleRequest(req(body, {}, ['192.168.1.3:8000']))).destination).toBe('192.168.1.3:8000');
    expect(routed(await sb.director.handleRequest(req(body, {}, ['192.168.1.1:8000', '192.168.1.2:9999', '192.168.1.3:8000']))).destination).toBe(
      '192.168.1.1:8000',
    );
    expect(rejected(await sb.director.handleRequest(req(body, {}, ['192.168.1.99:8000'])))).toBe(
      '503 failed to find endpoint candidates for serving the request',
    );
    expect(rejected(await sb.director.handleRequest(req(body, {}, [])))).toMatch(/^503/);
  });

  it('cases #7-#9: header-only without pods is 500; missing model and bad JSON are 400', async () => {
    expect(rejected(await core([]).director.handleRequest(req(null)))).toBe('500 no pods available in datastore');
    const sb = core([{}]);
    expect(routed(await sb.director.handleRequest(req(null))).destination).toBe('192.168.1.1:8000');
    expect(rejected(await sb.director.handleRequest(req({ prompt: 'hello world' })))).toBe('400 model not found in request body');
    expect(rejected(await sb.director.handleRequest(req('no healthy upstream')))).toMatch(/^400 error unmarshaling request body/);
    expect(await metric(sb, 'switchboard_rejected_input_total')).toContain('switchboard_rejected_input_total{source="request_body",reason="SB_ERR_BAD_JSON"} 1');
  });

  it('returns a best-first fallback list with maxNumOfEndpoints', async () => {
    const clock = new ManualClock();
    const s = createSwitchboard({
      config: parseConfig('plugins: [{type: queue-scorer}, {type: max-score-picker, parameters: {maxNumOfEndpoints: 3}}]'),
      clock,
      rng: seeded(1),
      scrape: false,
    });
    [5, 0, 9].forEach((q, i) => s.pool.recordMetrics(s.pool.upsert({ address: `10.0.0.${i + 1}`, port: 8000 }), snapshot({ q })));
    const d = routed(await s.director.handleRequest(req({ model: 'm', prompt: 'x' })));
    expect(d.destination).toBe('10.0.0.2:8000,10.0.0.1:8000,10.0.0.3:8000');
  });

  it('accounts in-flight requests on the endpoint that serves, and records usage metrics (case #11)', async () => {
    const sb = core([{}, {}]);
    const d = routed(await sb.director.handleRequest(req({ model: 'm', prompt: 'x', stream: true })));
    const picked = d.endpoints[0];
    const other = sb.pool.endpoints().find((e) => e !== picked)!;
    expect(sb.pool.inflight[picked.slot]).toBe(1);
    d.lifecycle.served(other.key);
    expect(sb.pool.inflight[picked.slot]).toBe(0);
    expect(sb.pool.inflight[other.slot]).toBe(1);
    expect(sb.pool.pendingPrefill[other.slot]).toBeGreaterThan(0);
    d.lifecycle.responseHeaders(200, 'text/event-stream');
    d.lifecycle.responseBody(Buffer.alloc(0), false);
    expect(sb.pool.pendingPrefill[other.slot]).toBeGreaterThan(0);
    for (const chunk of ['data: {}', 'data: {"usage":{"prompt_tokens":7,"total_tokens":17,"completion_tokens":10}}\ndata: [DONE]', ''])
      expect(d.lifecycle.responseBody(Buffer.from(chunk), chunk === '')?.toString()).toBe(chunk);
    expect(sb.pool.pendingPrefill[other.slot]).toBe(0); // the first bytes ended its prefill
    sb.clock.advance(500);
    d.lifecycle.finish('ok');
    d.lifecycle.finish('ok');
    expect(sb.pool.inflight[other.slot]).toBe(0);
    const lines = await metric(sb, 'inference_objective_input_tokens');
    expect(lines).toContain('inference_objective_input_tokens_sum{model_name="m",target_model_name="m"} 7');
    expect(lines).toContain('inference_objective_input_tokens_bucket{le="8",model_name="m",target_model_name="m"} 1');
    expect(await metric(sb, 'inference_objective_normalized_time_per_output_token_seconds_sum')).toEqual([
      'inference_objective_normalized_time_per_output_token_seconds_sum{model_name="m",target_model_name="m"} 0.05',
    ]);
    expect(await metric(sb, 'inference_objective_running_requests')).toContain('inference_objective_running_requests{model_name="m"} 0');
  });

  it('passthrough parser routes without reading the body (case #13)', async () => {
    const clock = new ManualClock();
    const s = createSwitchboard({
      config: parseConfig('plugins: [{type: queue-scorer}, {type: passthrough-parser}]\nparser: {pluginRef: passthrough-parser}'),
      clock,
      rng: seeded(1),
      scrape: false,
    });
    [3, 0, 10].forEach((q, i) => s.pool.recordMetrics(s.pool.upsert({ address: `192.168.1.${i + 1}`, port: 8000 }), snapshot({ q })));
    const r = req('passthrough-parser');
    const d = routed(await s.director.handleRequest(r));
    expect(d.destination).toBe('192.168.1.2:8000');
    expect(d.body).toBe(r.body);
    expect(d.incomingModel).toBe('');
  });

  it('never picks excluded endpoints, and a retry attempt is not counted twice', async () => {
    const sb = core([{ q: 0 }, { q: 9 }]);
    const body = { model: 'm', prompt: 'x' };
    const first = routed(await sb.director.handleRequest(req(body)));
    expect(first.destination).toBe('192.168.1.1:8000');
    first.lifecycle.finish('retried');
    const again = routed(await sb.director.handleRequest({ ...req(body), exclude: new Set(['192.168.1.1:8000']), retry: true }));
    expect(again.destination).toBe('192.168.1.2:8000');
    again.lifecycle.finish('ok');
    expect(await metric(sb, 'inference_objective_request_total')).toContain(
      'inference_objective_request_total{model_name="m",target_model_name="m",priority="0"} 1',
    );
    expect(await metric(sb, 'inference_objective_running_requests')).toContain('inference_objective_running_requests{model_name="m"} 0');
    expect(await metric(sb, 'inference_objective_request_error_total')).toEqual([]);
    expect(rejected(await sb.director.handleRequest({ ...req(body), exclude: new Set(['192.168.1.1:8000', '192.168.1.2:8000']) }))).toMatch(/^503/);
  });

  it('explains the decision when asked', async () => {
    const sb = core([{ q: 1 }, { q: 2 }]);
    const d = routed(await sb.director.handleRequest({ ...req({ model: 'm', prompt: 'x' }), explain: true }));
    expect(d.explanation?.picked).toEqual([d.destination]);
    expect(d.explanation?.endpoints).toHaveLength(2);
  });
});
