/**
 * The Go EPP's hermetic integration cases (reference-epp.md §7), end to end through real parts:
 * Envoy-faithful client -> real gRPC ext_proc server -> real director and scheduler -> pool fed
 * by real scrapes of /metrics HTTP servers. Expected endpoints and scores come from the Go tests
 * (weights 1 for queue, KV, prefix and LoRA scorers); exported metrics are read over HTTP.
 *
 * Deliberate differences from the Go EPP, asserted as such:
 * - the rewritten body keeps the client's bytes and key order and changes only the model value
 *   (Go re-marshals the whole map, sorting keys);
 * - no Content-Length is set in FULL_DUPLEX mode (Envoy drops it there anyway);
 * - a non-streamed JSON response with nothing to rewrite is passed through as it arrives.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { header } from '../support/envoy-client.js';
import { upstreamOf } from '../support/extproc-harness.js';
import { PASSTHROUGH_CONFIG, reqLLM, startHermetic, type Hermetic } from '../support/hermetic.js';

let env: Hermetic | null = null;
afterEach(async () => {
  await env?.close();
  env = null;
});


/** Sends the Go harness's request and returns what Envoy would send upstream. */
async function send(e: Hermetic, prompt: string, model: string, target: string) {
  const { headers, body } = reqLLM(prompt, model, target);
  return e.envoy.request({ path: '/v1/completions', headers, body });
}

function metricLine(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

describe('hermetic cases through the real director', () => {
  it('case 1: picks the lowest queue and KV pod, rewrites only the model value, counts the request', async () => {
    env = await startHermetic([
      { waiting: 3, kv: 0.2 },
      { waiting: 0, kv: 0.1 },
      { waiting: 10, kv: 0.2 },
    ]);
    const out = upstreamOf(await send(env, 'test1', 'my-model', 'my-model-12345'));
    expect(header(out.headers, 'x-gateway-destination-endpoint')).toBe(env.key(1));
    expect(out.metadata['envoy.lb']['x-gateway-destination-endpoint']).toBe(env.key(1));
    expect(out.originalDst).toBe(env.key(1));
    expect(out.routeCacheCleared).toBe(true);
    expect(out.body.toString()).toBe('{"prompt":"test1","max_tokens":100,"temperature":0,"model":"my-model-12345"}');
    expect(header(out.headers, 'x-request-id')).toBe('test-request-id');
    expect(header(out.headers, 'hi')).toBe('mom');

    const text = await env.metricsText();
    expect(metricLine(text, 'inference_objective_request_total', { model_name: 'my-model', target_model_name: 'my-model-12345', priority: '2' })).toBe(1);
    expect(metricLine(text, 'inference_pool_ready_pods', { name: 'vllm-llama3-8b-instruct-pool' })).toBe(3);
    expect(metricLine(text, 'inference_objective_request_sizes_count', { model_name: 'my-model' })).toBe(1);
    expect(metricLine(text, 'inference_extension_scheduler_e2e_duration_seconds_count', {})).toBe(1);
  });

  it('case 2: LoRA affinity picks the pod with the adapter loaded', async () => {
    env = await startHermetic([
      { waiting: 0, kv: 0.2, active: ['foo', 'bar'] },
      { waiting: 0, kv: 0.1, active: ['foo', 'sql-lora-1fdg2'] },
      { waiting: 10, kv: 0.2, active: ['foo', 'bar'] },
    ]);
    expect(upstreamOf(await send(env, 'test2', 'sql-lora', 'sql-lora-1fdg2')).originalDst).toBe(env.key(1));
  });

  it('case 3: with equal queues, affinity beats KV utilization', async () => {
    env = await startHermetic([
      { waiting: 10, kv: 0.2, active: ['foo', 'bar'] },
      { waiting: 10, kv: 0.4, active: ['foo', 'sql-lora-1fdg2'] },
      { waiting: 10, kv: 0.3, active: ['foo'] },
    ]);
    expect(upstreamOf(await send(env, 'test3', 'sql-lora', 'sql-lora-1fdg2')).originalDst).toBe(env.key(1));
  });

  it('case 4: a priority-2 request is never shed and goes to the best score (2.2 / 1.15 / 0.1)', async () => {
    env = await startHermetic([
      { waiting: 6, kv: 0.2, active: ['foo', 'bar', 'sql-lora-1fdg2'] },
      { waiting: 0, kv: 0.85, active: ['foo'] },
      { waiting: 10, kv: 0.9, active: ['foo'] },
    ]);
    expect(upstreamOf(await send(env, 'test4', 'sql-lora', 'sql-lora-1fdg2')).originalDst).toBe(env.key(0));
  });

  it('case 5: body split inside the model value, sheddable objective at priority 0', async () => {
    env = await startHermetic([
      { waiting: 4, kv: 0.2, active: ['foo', 'bar', 'sql-lora-1fdg3'] },
      { waiting: 4, kv: 0.85, active: ['foo', 'sql-lora-1fdg3'] },
    ]);
    const body = '{"max_tokens":100,"model":"sql-lora-sheddable","prompt":"test5","temperature":0}';
    const out = upstreamOf(
      await env.envoy.request({
        headers: { 'x-gateway-inference-objective': 'sql-lora-sheddable', 'x-gateway-model-name-rewrite': 'sql-lora-1fdg3' },
        body,
        splitAt: [body.indexOf('ra-sheddable')],
      }),
    );
    expect(out.originalDst).toBe(env.key(0));
    expect(out.body.toString()).toBe(body.replace('"sql-lora-sheddable"', '"sql-lora-1fdg3"'));
    const text = await env.metricsText();
    expect(metricLine(text, 'inference_objective_request_total', { model_name: 'sql-lora-sheddable', target_model_name: 'sql-lora-1fdg3', priority: '0' })).toBe(1);
  });

  it('case 6: the subset hint limits the pick; an unmatched subset is 503', async () => {
    env = await startHermetic([
      { waiting: 0, kv: 0.2, active: ['foo', 'bar'] },
      { waiting: 0, kv: 0.1, active: ['foo', 'sql-lora-1fdg2'] },
      { waiting: 10, kv: 0.2, active: ['foo', 'bar'] },
    ]);
    const { headers, body } = reqLLM('test6', 'sql-lora', 'sql-lora-1fdg2');
    const all = upstreamOf(await env.envoy.request({ headers, body, subset: [env.key(0), env.key(1), env.key(2)] }));
    expect(all.originalDst).toBe(env.key(1));
    const third = upstreamOf(await env.envoy.request({ headers, body, subset: [env.key(2)] }));
    expect(third.originalDst).toBe(env.key(2));
    expect(await env.envoy.request({ headers, body, subset: ['127.0.0.99:8000'] })).toEqual({
      kind: 'local-reply',
      status: 503,
      body: 'inference error: ServiceUnavailable - failed to find endpoint candidates for serving the request',
      grpcCode: null,
    });
    expect(await env.envoy.request({ headers, body, subset: [] })).toMatchObject({ kind: 'local-reply', status: 503 });
  });

  it('case 7: a header-only request with no pods is 500 "no pods available in datastore"', async () => {
    env = await startHermetic([]);
    expect(await env.envoy.request({ method: 'GET', body: null, headers: { 'x-request-id': 'r7' } })).toEqual({
      kind: 'local-reply',
      status: 500,
      body: 'inference error: Internal - no pods available in datastore',
      grpcCode: null,
    });
  });

  it('case 7b: a header-only request with pods is routed to one of them at once', async () => {
    env = await startHermetic([{ waiting: 0, kv: 0.1 }, { waiting: 0, kv: 0.1 }]);
    const out = upstreamOf(await env.envoy.request({ method: 'GET', path: '/v1/models', body: null }));
    expect([env.key(0), env.key(1)]).toContain(out.originalDst);
    expect(out.responses).toHaveLength(1);
  });

  it('case 8: a body without a model is 400', async () => {
    env = await startHermetic([{ waiting: 0, kv: 0.1 }]);
    expect(await env.envoy.request({ body: '{"prompt":"hello world"}' })).toEqual({
      kind: 'local-reply',
      status: 400,
      body: 'inference error: BadRequest - model not found in request body',
      grpcCode: null,
    });
  });

  it('case 9: a body that is not JSON is 400 "error unmarshaling request body"', async () => {
    env = await startHermetic([{ waiting: 0, kv: 0.1 }]);
    const out = await env.envoy.request({ body: 'no healthy upstream' });
    expect(out).toMatchObject({ kind: 'local-reply', status: 400 });
    expect(out.kind === 'local-reply' && out.body.startsWith('inference error: BadRequest - error unmarshaling request body')).toBe(true);
    const text = await env.metricsText();
    expect(metricLine(text, 'inference_objective_request_error_total', { error_code: 'SB_ERR_BAD_JSON' })).toBe(1);
  });

  it('case 10: a model rewrite rule sets the target model and the metric labels', async () => {
    env = await startHermetic([{ waiting: 0, kv: 0.1, active: ['rewritten-model'] }]);
    const out = upstreamOf(
      await env.envoy.request({ body: JSON.stringify({ prompt: 'test10', max_tokens: 100, temperature: 0, model: 'model-to-be-rewritten' }) }),
    );
    expect(JSON.parse(out.body.toString()).model).toBe('rewritten-model');
    const text = await env.metricsText();
    expect(metricLine(text, 'inference_objective_request_total', { model_name: 'model-to-be-rewritten', target_model_name: 'rewritten-model', priority: '0' })).toBe(1);
  });

  it('case 11: SSE response chunks are echoed unchanged, each at once, end_of_stream on the last', async () => {
    env = await startHermetic([{ waiting: 0, kv: 0.1 }]);
    const ex = env.envoy.open();
    const { headers, body } = reqLLM('test11', 'my-model', '');
    upstreamOf(await ex.sendRequest({ headers, body }));
    const chunks = ['data: {}', 'data: {"usage":{"prompt_tokens":7,"total_tokens":17,"completion_tokens":10}}\ndata: [DONE]', ''];
    const res = await ex.sendResponse({ headers: { 'content-type': 'text/event-stream', status: '200' }, chunks, served: env.key(0) });
    ex.end();
    if (res.kind !== 'downstream') throw new Error('expected downstream');
    expect(res.body.toString()).toBe(chunks.join(''));
    const bodies = res.responses.slice(1).map((r) => r.responseBody!.response!.bodyMutation!.streamedResponse!);
    expect(bodies.map((b) => Buffer.from(b.body ?? []).toString())).toEqual(chunks);
    expect(bodies.map((b) => b.endOfStream === true)).toEqual([false, false, true]);
    // The Go test's chunks carry no newline after `data: {}`, so by the SSE rules the first two
    // chunks form one line and its usage is not JSON; case 11b sends properly framed events.
  });

  it('case 11b: usage from a properly framed SSE stream feeds the token metrics', async () => {
    env = await startHermetic([{ waiting: 0, kv: 0.1 }]);
    const ex = env.envoy.open();
    const { headers, body } = reqLLM('test11b', 'my-model', '');
    upstreamOf(await ex.sendRequest({ headers, body }));
    const chunks = ['data: {}\n\n', 'data: {"usage":{"prompt_tokens":7,"total_tokens":17,"completion_tokens":10}}\n\ndata: [DONE]\n\n', ''];
    const res = await ex.sendResponse({ headers: { 'content-type': 'text/event-stream', status: '200' }, chunks, served: env.key(0) });
    ex.end();
    if (res.kind !== 'downstream') throw new Error('expected downstream');
    expect(res.body.toString()).toBe(chunks.join(''));
    const text = await env.metricsText();
    expect(metricLine(text, 'inference_objective_input_tokens_sum', { model_name: 'my-model' })).toBe(7);
    expect(metricLine(text, 'inference_objective_input_tokens_count', { model_name: 'my-model' })).toBe(1);
    expect(metricLine(text, 'inference_objective_input_tokens_bucket', { model_name: 'my-model', le: '8' })).toBe(1);
    expect(metricLine(text, 'inference_objective_output_tokens_sum', { model_name: 'my-model' })).toBe(10);
  });

  it('case 12: a JSON response split over two chunks arrives whole, end_of_stream last, usage parsed', async () => {
    env = await startHermetic([{ waiting: 0, kv: 0.1 }]);
    const ex = env.envoy.open();
    const { headers, body } = reqLLM('test12', 'my-model', '');
    upstreamOf(await ex.sendRequest({ headers, body }));
    const json = '{"object":"text_completion","usage":{"prompt_tokens":7,"total_tokens":17,"completion_tokens":10}}';
    const res = await ex.sendResponse({ headers: { 'content-type': 'application/json' }, chunks: [json.slice(0, 20), json.slice(20)] });
    ex.end();
    if (res.kind !== 'downstream') throw new Error('expected downstream');
    expect(res.body.toString()).toBe(json);
    const last = res.responses[res.responses.length - 1].responseBody!.response!.bodyMutation!.streamedResponse!;
    expect(last.endOfStream).toBe(true);
    expect(metricLine(await env.metricsText(), 'inference_objective_input_tokens_sum', { model_name: 'my-model' })).toBe(7);
  });

  it('case 12b: a rewritten model name is mapped back in a held JSON response', async () => {
    env = await startHermetic([{ waiting: 0, kv: 0.1 }]);
    const ex = env.envoy.open();
    const { headers, body } = reqLLM('test12b', 'my-model', 'my-model-12345');
    upstreamOf(await ex.sendRequest({ headers, body }));
    const res = await ex.sendResponse({ headers: { 'content-type': 'application/json' }, chunks: ['{"model":"my-mo', 'del-12345","choices":[]}'] });
    ex.end();
    if (res.kind !== 'downstream') throw new Error('expected downstream');
    expect(res.body.toString()).toBe('{"model":"my-model","choices":[]}');
    expect(res.bodyResponses).toBe(1);
  });

  it('case 13: the passthrough parser routes a non-JSON body byte-identical, model label empty', async () => {
    env = await startHermetic(
      [
        { waiting: 3, kv: 0.2 },
        { waiting: 0, kv: 0.1 },
        { waiting: 10, kv: 0.2 },
      ],
      { config: PASSTHROUGH_CONFIG },
    );
    const out = upstreamOf(await env.envoy.request({ body: 'passthrough-parser' }));
    expect(out.originalDst).toBe(env.key(1));
    expect(out.body.toString()).toBe('passthrough-parser');
    expect(metricLine(await env.metricsText(), 'inference_objective_request_total', { model_name: '', target_model_name: '' })).toBe(1);
  });

  it('shedding: a sheddable request on a saturated pool is 429; priority 0 is routed', async () => {
    env = await startHermetic([
      { waiting: 6, kv: 0.5 },
      { waiting: 2, kv: 0.9 },
    ]);
    const shed = await send(env, 'shed me', 'sheddable-model', '');
    expect(shed).toEqual({
      kind: 'local-reply',
      status: 429,
      body: 'inference error: ResourceExhausted - system saturated, sheddable request dropped',
      grpcCode: null,
    });
    expect((await send(env, 'keep me', 'unlisted-objective', '')).kind).toBe('upstream');
  });

  it('served-endpoint feedback moves the in-flight accounting to the pod that really served', async () => {
    env = await startHermetic([
      { waiting: 0, kv: 0.1 },
      { waiting: 5, kv: 0.5 },
    ]);
    const ex = env.envoy.open();
    const { headers, body } = reqLLM('served', 'my-model', '');
    expect(upstreamOf(await ex.sendRequest({ headers, body })).originalDst).toBe(env.key(0));
    const pool = env.core.pool;
    const slot = (i: number) => pool.get(env!.key(i))!.slot;
    expect([pool.inflight[slot(0)], pool.inflight[slot(1)]]).toEqual([1, 0]);
    ex.send({
      responseHeaders: { headers: { headers: [{ key: ':status', rawValue: Buffer.from('200') }] }, endOfStream: false },
      metadataContext: { filterMetadata: { 'envoy.lb': { fields: { 'x-gateway-destination-endpoint-served': { stringValue: env.key(1) } } } } },
    });
    await ex.next();
    expect([pool.inflight[slot(0)], pool.inflight[slot(1)]]).toEqual([0, 1]);
    ex.send({ responseBody: { body: Buffer.from('{}'), endOfStream: true } });
    await ex.next();
    ex.end();
    expect([pool.inflight[slot(0)], pool.inflight[slot(1)]]).toEqual([0, 0]);
  });

  it('health readiness follows the pool sync state', async () => {
    env = await startHermetic([{ waiting: 0, kv: 0.1 }]);
    expect(env.server.health.status('readiness')).toBe(1);
    env.core.pool.synced = false;
    expect(env.server.health.status('readiness')).toBe(2);
  });
});
