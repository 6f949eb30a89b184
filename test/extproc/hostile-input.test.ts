/**
 * Nothing a gateway or client sends may crash the handler or the process, or disturb other
 * streams: garbage bytes, messages out of order, streams reset mid-body or mid-decision,
 * random message sequences. Each case ends with a normal request that still works.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeProcessingResponse, encodeProcessingRequest, PROCESS_PATH } from '../../src/frontends/extproc/codec.js';
import type { ProcessingRequest } from '../../src/frontends/extproc/messages.js';
import { eventually, metricValue, startHarness, type Harness } from '../support/extproc-harness.js';
import { sbError } from '../../src/errors.js';
import { routeAll, ScriptedDirector } from '../support/scripted-director.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const BODY = '{"model":"m","prompt":"hi"}';

async function stillServes(harness: Harness): Promise<void> {
  const out = await harness.envoy.request({ body: BODY });
  expect(out.kind).toBe('upstream');
}

/** Sends raw frames on the Process method and returns the final gRPC status. */
function rawStream(harness: Harness, frames: Buffer[]): Promise<{ code: number; details: string }> {
  const call = harness.envoy.client.makeBidiStreamRequest(PROCESS_PATH, (b: Buffer) => b, decodeProcessingResponse);
  return new Promise((resolve) => {
    call.on('data', () => {});
    call.on('error', () => {});
    call.on('status', (s) => resolve({ code: s.code, details: s.details }));
    for (const f of frames) call.write(f);
    call.end();
  });
}

describe('hostile input', () => {
  it('ends a stream carrying undecodable bytes with a gRPC error and keeps serving', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000'));
    const status = await rawStream(h, [Buffer.from([0x12, 0x7f, 0x01, 0x02])]);
    expect(status.code).toBe(GrpcStatus.INTERNAL);
    await stillServes(h);
  });

  it('rejects a ProcessingRequest with no request field (INVALID_ARGUMENT) and counts it', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000'));
    const status = await rawStream(h, [encodeProcessingRequest({ observabilityMode: false })]);
    expect(status.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(await metricValue(h.server, 'switchboard_extproc_protocol_errors_total', { reason: 'empty_request' })).toBe(1);
    await stillServes(h);
  });

  it.each<[string, ProcessingRequest[]]>([
    ['response headers first', [{ responseHeaders: { endOfStream: true } }]],
    ['body before headers', [{ requestBody: { body: Buffer.from('x'), endOfStream: true } }]],
    ['headers twice', [{ requestHeaders: { endOfStream: false } }, { requestHeaders: { endOfStream: false } }]],
    ['response body before response headers', [{ requestHeaders: { endOfStream: true } }, { responseBody: { endOfStream: true } }]],
  ])('fails the stream with FAILED_PRECONDITION on %s', async (_name, msgs) => {
    h = await startHarness(routeAll('10.0.0.1:8000'));
    const status = await rawStream(h, msgs.map(encodeProcessingRequest));
    expect(status.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    await stillServes(h);
  });

  it('forgets a client that disappears mid-body: no director call, no leaked stream', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director);
    const ex = h.envoy.open();
    ex.send({ requestHeaders: { headers: { headers: [{ key: ':path', rawValue: Buffer.from('/v1/completions') }] } } });
    ex.send({ requestBody: { body: Buffer.from('{"model":"m",'), endOfStream: false } });
    await new Promise((r) => setTimeout(r, 20));
    ex.end(); // RST_STREAM mid-body
    await eventually(async () => (await metricValue(h!.server, 'switchboard_extproc_active_streams')) === 0);
    expect(director.requests).toHaveLength(0);
    await stillServes(h);
  });

  it('forgets a client that half-closes mid-body', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director, {}, { endStream: 'half-close' });
    const ex = h.envoy.open();
    ex.send({ requestHeaders: { headers: { headers: [] } } });
    ex.send({ requestBody: { body: Buffer.from('{"mod'), endOfStream: false } });
    ex.end();
    expect((await ex.status()).code).toBe(GrpcStatus.OK);
    expect(director.requests).toHaveLength(0);
    await stillServes(h);
  });

  it('releases the pick and aborts the signal when the client resets while the director decides', async () => {
    const director = routeAll('10.0.0.1:8000', { delayMs: 100 });
    h = await startHarness(director);
    const ex = h.envoy.open();
    ex.send({ requestHeaders: { headers: { headers: [] } } });
    ex.send({ requestBody: { body: Buffer.from(BODY), endOfStream: true } });
    await eventually(() => director.requests.length === 1);
    expect(director.signals[0]?.aborted).toBe(false);
    ex.end();
    await eventually(() => director.lifecycles.length === 1 && director.lifecycles[0].calls('finish').length === 1);
    expect(director.signals[0]?.aborted).toBe(true);
    expect(director.lifecycles[0].calls('finish')).toEqual([{ call: 'finish', outcome: 'cancelled' }]);
    await stillServes(h);
  });

  it('survives hostile header bytes (invalid UTF-8, huge values, odd keys)', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director);
    const ex = h.envoy.open();
    ex.send({
      requestHeaders: {
        headers: {
          headers: [
            { key: 'X-Request-ID', rawValue: Buffer.from([0xff, 0xfe, 0x00, 0x41]) },
            { key: '', rawValue: Buffer.from('empty key') },
            { key: 'x-gateway-inference-objective', rawValue: Buffer.alloc(100_000, 0x41) },
            { key: ':path', value: 'v', rawValue: Buffer.from('/v1/chat/completions') },
          ],
        },
      },
    });
    ex.send({ requestBody: { body: Buffer.from(BODY), endOfStream: true } });
    const first = await ex.next();
    expect(first.kind === 'message' && first.msg.requestHeaders).toBeTruthy();
    ex.end();
    expect(director.requests[0].requestId).toBe('\ufffd\ufffd\u0000A');
    expect(director.requests[0].path).toBe('/v1/chat/completions');
  });

  it('survives random message sequences and random bytes (bounded fuzz)', async () => {
    h = await startHarness(routeAll('10.0.0.1:8000'), { maxBodyBytes: 4096 });
    const harness = h;
    const bytes = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
    const headers = fc.array(fc.record({ key: fc.string({ maxLength: 12 }), rawValue: bytes }), { maxLength: 4 });
    const msg: fc.Arbitrary<ProcessingRequest> = fc.oneof(
      fc.record({ requestHeaders: fc.record({ headers: fc.record({ headers }), endOfStream: fc.boolean() }) }),
      fc.record({ requestBody: fc.record({ body: bytes, endOfStream: fc.boolean() }) }),
      fc.record({ requestTrailers: fc.constant({}) }),
      fc.record({ responseHeaders: fc.record({ headers: fc.record({ headers }), endOfStream: fc.boolean() }) }),
      fc.record({ responseBody: fc.record({ body: bytes, endOfStream: fc.boolean() }) }),
      fc.record({ responseTrailers: fc.constant({}) }),
    );
    const frame = fc.oneof({ weight: 4, arbitrary: msg.map(encodeProcessingRequest) }, { weight: 1, arbitrary: bytes });
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 8 }), async (frames) => {
        const status = await rawStream(harness, frames);
        expect(typeof status.code).toBe('number');
      }),
      { numRuns: 60, seed: 20260805 },
    );
    await eventually(async () => (await metricValue(harness.server, 'switchboard_extproc_active_streams')) === 0);
    await stillServes(harness);
  });
});

describe('stream accounting', () => {
  it('releases streams after rejections, 413s and protocol errors whatever way the client ends', async () => {
    h = await startHarness(new ScriptedDirector(() => ({ kind: 'reject', error: sbError('SB_ERR_SHED') })), { maxBodyBytes: 64 });
    for (const endStream of ['reset', 'half-close'] as const) {
      const out = await h.envoy.request({ body: BODY }, { endStream });
      expect(out).toMatchObject({ kind: 'local-reply', status: 429, body: 'inference error: ResourceExhausted - system saturated, sheddable request dropped' });
      const big = await h.envoy.request({ body: Buffer.alloc(100, 0x20) }, { endStream });
      expect(big).toMatchObject({ kind: 'local-reply', status: 413 });
    }
    await rawStream(h, [encodeProcessingRequest({ responseTrailers: {} })]);
    await eventually(async () => (await metricValue(h!.server, 'switchboard_extproc_active_streams')) === 0);
    expect(await metricValue(h.server, 'switchboard_extproc_streams_total')).toBe(5);
    expect(await metricValue(h.server, 'switchboard_extproc_local_rejections_total', { code: 'SB_ERR_BODY_TOO_LARGE' })).toBe(2);
  });
});
