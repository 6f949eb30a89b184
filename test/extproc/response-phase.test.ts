/**
 * Front-door protocol tests, FULL_DUPLEX_STREAMED response phase: headers answered at once,
 * SSE chunks echoed before the next one arrives, JSON held as the lifecycle says, served
 * endpoint feedback, trailers, and how the lifecycle ends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { EnvoyExchange } from '../support/envoy-client.js';
import { eventually, startHarness, upstreamOf, type Harness } from '../support/extproc-harness.js';
import { routeAll } from '../support/scripted-director.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const BODY = '{"model":"m","prompt":"hi","stream":true}';


async function nextBody(ex: EnvoyExchange): Promise<{ body: string; eos: boolean }> {
  const m = await ex.next();
  if (m.kind !== 'message' || !m.msg.responseBody) throw new Error('expected a response body message');
  const sr = m.msg.responseBody.response!.bodyMutation!.streamedResponse!;
  return { body: Buffer.from(sr.body ?? []).toString(), eos: sr.endOfStream === true };
}

describe('FULL_DUPLEX_STREAMED response phase', () => {
  it('answers response headers at once and echoes each SSE chunk before the next is sent', async () => {
    const director = routeAll('10.0.0.2:8000');
    h = await startHarness(director);
    const ex = h.envoy.open();
    upstreamOf(await ex.sendRequest({ body: BODY }));
    ex.send({
      responseHeaders: {
        headers: {
          headers: [
            { key: ':status', rawValue: Buffer.from('200') },
            { key: 'content-type', rawValue: Buffer.from('text/event-stream; charset=utf-8') },
          ],
        },
        endOfStream: false,
      },
      metadataContext: { filterMetadata: { 'envoy.lb': { fields: { 'x-gateway-destination-endpoint-served': { stringValue: '10.0.0.2:8000' } } } } },
    });
    const hr = await ex.next();
    expect(hr.kind === 'message' && hr.msg.responseHeaders).toBeTruthy();

    const chunks = ['data: {"choices":[{"text":" Hello"}]}\n\n', 'data: {"choices":[],"usage":{"prompt_tokens":7}}\n\ndata: [DONE]\n\n'];
    for (const c of chunks) {
      ex.send({ responseBody: { body: Buffer.from(c), endOfStream: false } });
      // The echo arrives while the upstream stream is still open: nothing is buffered.
      expect(await nextBody(ex)).toEqual({ body: c, eos: false });
    }
    ex.send({ responseBody: { body: Buffer.alloc(0), endOfStream: true } });
    expect(await nextBody(ex)).toEqual({ body: '', eos: true });
    ex.end();

    const lc = director.lifecycles[0];
    expect(lc.calls('served')).toEqual([{ call: 'served', endpoint: '10.0.0.2:8000' }]);
    expect(lc.calls('responseHeaders')).toEqual([
      { call: 'responseHeaders', status: 200, contentType: 'text/event-stream; charset=utf-8' },
    ]);
    expect(lc.calls('responseBody').map((e) => e.endOfStream)).toEqual([false, false, true]);
    expect(lc.calls('finish')).toEqual([{ call: 'finish', outcome: 'ok' }]);
  });

  it('holds a JSON body while the lifecycle holds it and sends it whole at the end', async () => {
    const director = routeAll('10.0.0.1:8000', { responseBody: 'hold' });
    h = await startHarness(director);
    const ex = h.envoy.open();
    upstreamOf(await ex.sendRequest({ body: BODY }));
    const res = await ex.sendResponse({
      headers: { 'content-type': 'application/json' },
      chunks: ['{"id":"x","usage":', '{"prompt_tokens":7}}'],
      served: '10.0.0.1:8000',
    });
    ex.end();
    if (res.kind !== 'downstream') throw new Error('expected downstream');
    expect(res.body.toString()).toBe('{"id":"x","usage":{"prompt_tokens":7}}');
    expect(res.bodyResponses).toBe(1);
    expect(director.lifecycles[0].calls('finish')).toEqual([{ call: 'finish', outcome: 'ok' }]);
  });

  it('splits a large response body into chunks of at most 62,000 bytes', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000', { responseBody: 'hold' }));
    const ex = h.envoy.open();
    upstreamOf(await ex.sendRequest({ body: BODY }));
    const big = Buffer.alloc(150_000, 0x62);
    const res = await ex.sendResponse({ headers: { 'content-type': 'application/json' }, chunks: [big.subarray(0, 70_000), big.subarray(70_000)] });
    ex.end();
    if (res.kind !== 'downstream') throw new Error('expected downstream');
    expect(res.body.equals(big)).toBe(true);
    expect(res.bodyResponses).toBe(3);
  });

  it('finishes at response headers with end_of_stream (no body)', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director);
    const ex = h.envoy.open();
    upstreamOf(await ex.sendRequest({ body: BODY }));
    const res = await ex.sendResponse({ status: 204 });
    ex.end();
    expect(res.kind).toBe('downstream');
    expect(director.lifecycles[0].calls('responseHeaders')[0].status).toBe(204);
    expect(director.lifecycles[0].calls('finish')).toEqual([{ call: 'finish', outcome: 'ok' }]);
  });

  it('answers response trailers and flushes a held body before them', async () => {
    const director = routeAll('10.0.0.1:8000', { responseBody: 'hold' });
    h = await startHarness(director);
    const ex = h.envoy.open();
    upstreamOf(await ex.sendRequest({ body: BODY }));
    const res = await ex.sendResponse({ headers: { 'content-type': 'application/grpc' }, chunks: ['abc', 'def'], trailers: { 'grpc-status': '0' } });
    ex.end();
    if (res.kind !== 'downstream') throw new Error('expected downstream');
    expect(res.body.toString()).toBe('abcdef');
    expect(res.responses[res.responses.length - 1].responseTrailers).toBeTruthy();
    expect(director.lifecycles[0].calls('finish')).toEqual([{ call: 'finish', outcome: 'ok' }]);
  });

  it('reads the `status` header the Go EPP harness sends when `:status` is absent', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director);
    const ex = h.envoy.open();
    upstreamOf(await ex.sendRequest({ body: BODY }));
    ex.send({ responseHeaders: { headers: { headers: [{ key: 'status', rawValue: Buffer.from('503') }] }, endOfStream: true } });
    await ex.next();
    ex.end();
    expect(director.lifecycles[0].calls('responseHeaders')[0].status).toBe(503);
  });

  it('ends the lifecycle as cancelled when the gateway resets mid-response, and as ok after a completed one', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director);
    const ex = h.envoy.open();
    upstreamOf(await ex.sendRequest({ body: BODY }));
    ex.send({ responseHeaders: { headers: { headers: [{ key: ':status', rawValue: Buffer.from('200') }] }, endOfStream: false } });
    await ex.next();
    ex.send({ responseBody: { body: Buffer.from('data: x\n\n'), endOfStream: false } });
    await ex.next();
    ex.end(); // client went away mid-stream: Envoy resets the side stream
    await eventually(() => director.lifecycles[0].calls('finish').length === 1);
    expect(director.lifecycles[0].calls('finish')).toEqual([{ call: 'finish', outcome: 'cancelled' }]);
  });

  it('treats half-close after a completed exchange as a normal end (status OK)', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director, {}, { endStream: 'half-close' });
    const ex = h.envoy.open();
    upstreamOf(await ex.sendRequest({ body: BODY }));
    const res = await ex.sendResponse({ headers: { 'content-type': 'text/event-stream' }, chunks: ['data: a\n\n'] });
    expect(res.kind).toBe('downstream');
    ex.end();
    expect(await ex.status()).toMatchObject({ code: 0 });
    expect(director.lifecycles[0].calls('finish')).toEqual([{ call: 'finish', outcome: 'ok' }]);
  });
});

describe('response body mode NONE', () => {
  it('completes the exchange at the response headers and still answers response trailers', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director);
    const ex = h.envoy.open();
    ex.send({
      requestHeaders: { headers: { headers: [] }, endOfStream: false },
      protocolConfig: { requestBodyMode: 4, responseBodyMode: 0 },
    });
    ex.send({ requestBody: { body: Buffer.from(BODY), endOfStream: true } });
    await ex.next();
    await ex.next();
    ex.send({ responseHeaders: { headers: { headers: [{ key: ':status', rawValue: Buffer.from('200') }] }, endOfStream: false } });
    const hr = await ex.next();
    expect(hr.kind === 'message' && hr.msg.responseHeaders).toBeTruthy();
    expect(director.lifecycles[0].calls('finish')).toEqual([{ call: 'finish', outcome: 'ok' }]);
    ex.send({ responseTrailers: { trailers: { headers: [{ key: 'grpc-status', rawValue: Buffer.from('0') }] } } });
    const tr = await ex.next();
    expect(tr.kind === 'message' && tr.msg.responseTrailers).toBeTruthy();
    ex.end();
  });
});
