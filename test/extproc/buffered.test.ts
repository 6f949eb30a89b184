/**
 * Front-door protocol tests, BUFFERED mode and mode selection (protocol_config vs the default
 * flag): a real gRPC server, the Envoy-faithful client, a scripted director.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BodySendMode } from '../../src/frontends/extproc/messages.js';
import { header } from '../support/envoy-client.js';
import { startHarness, upstreamOf, type Harness } from '../support/extproc-harness.js';
import { routeAll, ScriptedDirector } from '../support/scripted-director.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});


const BODY = '{"model":"sql-lora","prompt":"hi"}';

describe('BUFFERED mode', () => {
  it('answers the headers at once with CONTINUE and routes in the body response (protocol_config)', async () => {
    const director = routeAll('10.0.0.2:8000');
    h = await startHarness(director, {}, { bodyMode: BodySendMode.BUFFERED });
    const out = upstreamOf(await h.envoy.request({ body: BODY }));
    expect(out.responses).toHaveLength(2);
    expect(out.responses[0].requestHeaders!.response).toBeFalsy(); // plain CONTINUE
    const common = out.responses[1].requestBody!.response!;
    expect(common.clearRouteCache).toBe(true);
    expect(common.bodyMutation).toBeFalsy(); // unchanged body: no mutation
    expect(header(out.headers, 'x-gateway-destination-endpoint')).toBe('10.0.0.2:8000');
    expect(out.metadata['envoy.lb']['x-gateway-destination-endpoint']).toBe('10.0.0.2:8000');
    expect(out.body.toString()).toBe(BODY);
    expect(header(out.headers, 'content-length')).toBe(String(BODY.length));
  });

  it('replaces a rewritten body and keeps Content-Length consistent', async () => {
    const rewritten = Buffer.from('{"model":"a-much-longer-target-model","prompt":"hi"}');
    h = await startHarness(
      new ScriptedDirector(() => ({ kind: 'route', destination: '10.0.0.1:8000', body: rewritten })),
      {},
      { bodyMode: BodySendMode.BUFFERED },
    );
    const out = upstreamOf(await h.envoy.request({ body: BODY }));
    expect(out.body.equals(rewritten)).toBe(true);
    expect(header(out.headers, 'content-length')).toBe(String(rewritten.length));
  });

  it('routes on the default body mode flag when the gateway sends no protocol_config', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000'), { defaultBodyMode: BodySendMode.BUFFERED }, {
      bodyMode: BodySendMode.BUFFERED,
      sendProtocolConfig: false,
    });
    const out = upstreamOf(await h.envoy.request({ body: BODY }));
    expect(out.body.toString()).toBe(BODY);
  });

  it('deadlocks a BUFFERED gateway into its message timeout when the default mode is wrong (why the flag exists)', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director, { defaultBodyMode: BodySendMode.FULL_DUPLEX_STREAMED }, {
      bodyMode: BodySendMode.BUFFERED,
      sendProtocolConfig: false,
      messageTimeoutMs: 200,
    });
    const out = await h.envoy.request({ body: BODY });
    expect(out).toMatchObject({ kind: 'local-reply', status: 504 });
    expect(director.requests).toHaveLength(0);
  });

  it('protocol_config overrides the default flag', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000'), { defaultBodyMode: BodySendMode.BUFFERED }, {
      bodyMode: BodySendMode.FULL_DUPLEX_STREAMED,
    });
    const out = upstreamOf(await h.envoy.request({ body: BODY, splitAt: [7] }));
    expect(out.body.toString()).toBe(BODY);
  });

  it('answers request trailers after the body response', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000'), {}, { bodyMode: BodySendMode.BUFFERED });
    const out = upstreamOf(await h.envoy.request({ body: BODY, trailers: { 'x-t': '1' } }));
    expect(out.responses.map((r) => Object.keys(r).filter((k) => k !== 'dynamicMetadata')[0])).toEqual([
      'requestHeaders',
      'requestBody',
      'requestTrailers',
    ]);
  });

  it('runs the response phase: headers answered, a rewritten JSON body replaced with its new length', async () => {
    h = await startHarness(
      new ScriptedDirector(() => ({
        kind: 'route',
        destination: '10.0.0.1:8000',
        responseBody: (chunk) => Buffer.from(chunk.toString().replace('"target"', '"incoming-name"')),
      })),
      {},
      { bodyMode: BodySendMode.BUFFERED },
    );
    const ex = h.envoy.open();
    upstreamOf(await ex.sendRequest({ body: BODY }));
    const res = await ex.sendResponse({
      headers: { 'content-type': 'application/json', 'content-length': '18' },
      chunks: ['{"model":"target"}'],
    });
    ex.end();
    if (res.kind !== 'downstream') throw new Error('expected downstream');
    expect(res.body.toString()).toBe('{"model":"incoming-name"}');
    expect(header(res.headers, 'content-length')).toBe('25');
  });

  it('leaves an unchanged response body alone (CONTINUE)', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000'), {}, { bodyMode: BodySendMode.BUFFERED });
    const ex = h.envoy.open();
    upstreamOf(await ex.sendRequest({ body: BODY }));
    const res = await ex.sendResponse({ headers: { 'content-type': 'application/json' }, chunks: ['{"ok":true}'] });
    ex.end();
    if (res.kind !== 'downstream') throw new Error('expected downstream');
    expect(res.body.toString()).toBe('{"ok":true}');
    expect(res.responses[1].responseBody!.response).toBeFalsy();
  });
});

describe('modes where the body cannot be seen before the headers are answered', () => {
  it.each([
    ['STREAMED', BodySendMode.STREAMED],
    ['BUFFERED_PARTIAL', BodySendMode.BUFFERED_PARTIAL],
  ])('%s: routes on the headers and passes each body chunk through unchanged', async (_name, mode) => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director);
    const ex = h.envoy.open({ bodyMode: mode });
    ex.send({
      requestHeaders: { headers: { headers: [{ key: ':path', rawValue: Buffer.from('/v1/completions') }] }, endOfStream: false },
      protocolConfig: { requestBodyMode: mode, responseBodyMode: mode },
    });
    const first = await ex.next();
    expect(first.kind === 'message' && first.msg.requestHeaders?.response?.headerMutation?.setHeaders?.[0].header.key).toBe(
      'x-gateway-destination-endpoint',
    );
    expect(director.requests[0].body).toBeNull();
    ex.send({ requestBody: { body: Buffer.from('{"model":'), endOfStream: false } });
    ex.send({ requestBody: { body: Buffer.from('"m"}'), endOfStream: true } });
    const a = await ex.next();
    const b = await ex.next();
    expect(a.kind === 'message' && a.msg.requestBody && !a.msg.requestBody.response).toBe(true);
    expect(b.kind === 'message' && b.msg.requestBody && !b.msg.requestBody.response).toBe(true);
    ex.end();
  });
});
