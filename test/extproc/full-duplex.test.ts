/**
 * Front-door protocol tests, FULL_DUPLEX_STREAMED: a real gRPC server on loopback, the
 * Envoy-faithful client, and a scripted director (the subject here is the wire behaviour).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sbError } from '../../src/errors.js';
import { header } from '../support/envoy-client.js';
import { startHarness, upstreamOf, type Harness } from '../support/extproc-harness.js';
import { routeAll, ScriptedDirector } from '../support/scripted-director.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});


const BODY = '{"model":"sql-lora","prompt":"hi","max_tokens":10,"stream":true}';

describe('FULL_DUPLEX_STREAMED request phase', () => {
  it('buffers the body, then answers headers (raw_value, clear_route_cache, envoy.lb) and echoes the body', async () => {
    const director = routeAll('10.0.0.2:8000');
    h = await startHarness(director);
    const out = upstreamOf(await h.envoy.request({ body: BODY, splitAt: [10, 30], headers: { 'x-request-id': 'req-1' } }));

    // The director saw the whole body once, exactly as sent.
    expect(director.bodies.map((b) => b?.toString())).toEqual([BODY]);
    expect(director.requests[0].requestId).toBe('req-1');
    expect(director.requests[0].path).toBe('/v1/completions');

    const [first, ...rest] = out.responses;
    expect(first.requestHeaders).toBeTruthy();
    const setHeaders = first.requestHeaders!.response!.headerMutation!.setHeaders!;
    const dst = setHeaders.find((s) => s.header.key === 'x-gateway-destination-endpoint')!;
    expect(Buffer.from(dst.header.rawValue!).toString()).toBe('10.0.0.2:8000');
    for (const s of setHeaders) expect(s.header.value ?? '').toBe(''); // raw_value only
    expect(first.requestHeaders!.response!.clearRouteCache).toBe(true);
    expect(out.routeCacheCleared).toBe(true);
    expect(out.metadata).toEqual({ 'envoy.lb': { 'x-gateway-destination-endpoint': '10.0.0.2:8000' } });
    expect(out.originalDst).toBe('10.0.0.2:8000');
    expect(out.body.toString()).toBe(BODY);
    expect(rest).toHaveLength(1);
    expect(rest[0].requestBody!.response!.bodyMutation!.streamedResponse!.endOfStream).toBe(true);
    expect(header(out.headers, 'content-length')).toBeUndefined();
  });

  it('echoes large bodies byte-exact in chunks of at most 62,000 bytes, end_of_stream on the last', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000'));
    const prompt = 'x'.repeat(220 * 1024);
    const body = Buffer.from(JSON.stringify({ model: 'm', prompt }));
    // Envoy forwards the body in pieces as they arrive; use 16 KiB pieces.
    const splitAt = Array.from({ length: Math.floor(body.length / 16384) }, (_, i) => (i + 1) * 16384);
    const out = upstreamOf(await h.envoy.request({ body, splitAt }));
    expect(out.body.equals(body)).toBe(true);
    const chunks = out.responses.slice(1).map((r) => r.requestBody!.response!.bodyMutation!.streamedResponse!);
    expect(chunks.length).toBe(Math.ceil(body.length / 62_000));
    for (const c of chunks) expect(Buffer.from(c.body ?? []).length).toBeLessThanOrEqual(62_000);
    expect(chunks.map((c) => c.endOfStream === true)).toEqual(chunks.map((_, i) => i === chunks.length - 1));
  });

  it('reassembles bodies split inside a UTF-8 character and inside the "model" key', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director);
    const body = Buffer.from('{"model":"llama-€-😀","prompt":"naïve café 日本語"}', 'utf8');
    const euro = body.indexOf(Buffer.from('€'));
    const emoji = body.indexOf(Buffer.from('😀'));
    const modelKey = body.indexOf(Buffer.from('model'));
    const out = upstreamOf(
      await h.envoy.request({ body, splitAt: [modelKey + 2, euro + 1, euro + 2, emoji + 3], emptyLastChunk: true }),
    );
    expect(director.bodies[0]!.equals(body)).toBe(true);
    expect(out.body.equals(body)).toBe(true);
  });

  it('sends exactly what the director returns when it rewrites the body', async () => {
    const rewritten = Buffer.from('{"model":"target","prompt":"hi"}');
    h = await startHarness(new ScriptedDirector(() => ({ kind: 'route', destination: '10.0.0.1:8000', body: rewritten })));
    const out = upstreamOf(await h.envoy.request({ body: '{"model":"incoming","prompt":"hi"}' }));
    expect(out.body.equals(rewritten)).toBe(true);
  });

  it('carries a fallback list in the header and the metadata alike', async () => {
    h = await startHarness(routeAll('10.0.0.2:8000,10.0.0.1:8000,10.0.0.3:8000'));
    const out = upstreamOf(await h.envoy.request({ body: BODY }));
    expect(header(out.headers, 'x-gateway-destination-endpoint')).toBe('10.0.0.2:8000,10.0.0.1:8000,10.0.0.3:8000');
    expect(out.metadata['envoy.lb']['x-gateway-destination-endpoint']).toBe('10.0.0.2:8000,10.0.0.1:8000,10.0.0.3:8000');
    // ORIGINAL_DST cannot parse a list; this is what the OverrideHost policy is for.
    expect(out.originalDst).toBeNull();
  });

  it('routes header-only requests without waiting for a body', async () => {
    const director = routeAll('10.0.0.3:8000');
    h = await startHarness(director);
    const out = upstreamOf(await h.envoy.request({ method: 'GET', path: '/v1/models', body: null }));
    expect(director.requests[0].body).toBeNull();
    expect(director.requests[0].path).toBe('/v1/models');
    expect(out.responses).toHaveLength(1);
    expect(out.originalDst).toBe('10.0.0.3:8000');
  });

  it('passes the subset hint from metadata_context (list, comma string, empty list, absent)', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director);
    await h.envoy.request({ body: BODY, subset: ['10.0.0.1:8000', '10.0.0.2:8000'] });
    await h.envoy.request({ body: BODY, subset: '10.0.0.3:8000, 10.0.0.4' });
    await h.envoy.request({ body: BODY, subset: [] });
    await h.envoy.request({ body: BODY });
    expect(director.requests.map((r) => r.subset)).toEqual([
      ['10.0.0.1:8000', '10.0.0.2:8000'],
      ['10.0.0.3:8000', '10.0.0.4'],
      [],
      null,
    ]);
  });

  it('ignores the subset hint when told to', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director, { honorSubsetHint: false });
    await h.envoy.request({ body: BODY, subset: ['10.0.0.9:8000'] });
    expect(director.requests[0].subset).toBeNull();
  });

  it('honours request headers, generates x-request-id and strips client-sent system headers', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director);
    const out = upstreamOf(
      await h.envoy.request({
        body: BODY,
        path: '/v1/chat/completions?api-version=1',
        headers: {
          'X-Gateway-Inference-Objective': 'critical',
          'x-gateway-model-name-rewrite': 'target-model',
          'x-gateway-inference-fairness-id': 'tenant-a',
          'x-gateway-destination-endpoint': '6.6.6.6:80',
          'x-gateway-destination-endpoint-served': '6.6.6.6:80',
        },
      }),
    );
    const req = director.requests[0];
    expect(req.headers.get('x-gateway-inference-objective')).toBe('critical');
    expect(req.headers.get('x-gateway-model-name-rewrite')).toBe('target-model');
    expect(req.headers.get('x-gateway-inference-fairness-id')).toBe('tenant-a');
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(header(out.headers, 'x-request-id')).toBe(req.requestId);
    expect(out.headers.filter(([k]) => k === 'x-gateway-destination-endpoint')).toEqual([
      ['x-gateway-destination-endpoint', '10.0.0.1:8000'],
    ]);
    expect(header(out.headers, 'x-gateway-destination-endpoint-served')).toBeUndefined();
  });

  it('accepts legacy header values in `value` (GIE harness, pre-1.27 Envoy)', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director, {}, { legacyHeaderValue: true });
    await h.envoy.request({ body: BODY, headers: { 'x-request-id': 'legacy-id' } });
    expect(director.requests[0].requestId).toBe('legacy-id');
    expect(director.requests[0].path).toBe('/v1/completions');
  });

  it('treats trailers as the end of the body: body responses keep end_of_stream false, trailers answer last', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director);
    const out = upstreamOf(await h.envoy.request({ body: BODY, splitAt: [5], trailers: { 'x-checksum': 'abc' } }));
    expect(out.body.toString()).toBe(BODY);
    const last = out.responses[out.responses.length - 1];
    expect(last.requestTrailers).toBeTruthy();
    for (const r of out.responses.slice(1, -1)) expect(r.requestBody!.response!.bodyMutation!.streamedResponse!.endOfStream ?? false).toBe(false);
  });

  it('answers rejections with an ImmediateResponse carrying the status and the Go EPP body text', async () => {
    h = await startHarness(new ScriptedDirector(() => ({ kind: 'reject', error: sbError('SB_ERR_NO_CANDIDATES') })));
    const out = await h.envoy.request({ body: BODY });
    expect(out).toEqual({
      kind: 'local-reply',
      status: 503,
      body: 'inference error: ServiceUnavailable - failed to find endpoint candidates for serving the request',
      grpcCode: null,
    });
  });

  it('turns a throwing director into a 500, not a crash', async () => {
    h = await startHarness({
      handleRequest: () => {
        throw new Error('boom');
      },
    });
    const out = await h.envoy.request({ body: BODY });
    expect(out.kind === 'local-reply' && out.status).toBe(500);
    expect(out.kind === 'local-reply' && out.body).toBe('inference error: Internal - internal error: boom');
    expect(h.server.port).toBeGreaterThan(0);
    const again = await h.envoy.request({ body: BODY });
    expect(again.kind).toBe('local-reply');
  });

  it('answers 413 when the body exceeds the limit and never calls the director', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director, { maxBodyBytes: 1000 });
    const out = await h.envoy.request({ body: Buffer.alloc(1500, 0x61), splitAt: [600, 1200] });
    expect(out).toMatchObject({ kind: 'local-reply', status: 413, body: 'inference error: PayloadTooLarge - request body exceeds 1000 bytes' });
    expect(director.requests).toHaveLength(0);
  });
});
