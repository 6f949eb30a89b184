/** The direct encoders of the hot responses produce exactly protobufjs' bytes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeProcessingResponse, encodeProcessingResponse } from '../../src/frontends/extproc/codec.js';
import { encodeRouteHeaders, encodeStreamedBody, encodeStreamedChunk } from '../../src/frontends/extproc/fast-encode.js';
import { routeHeadersResponse, type Direction } from '../../src/frontends/extproc/responses.js';

function viaProtobufjs(direction: Direction, body: Buffer, eos: boolean): Buffer {
  const streamedResponse = eos ? { body, endOfStream: true } : { body };
  const response = { bodyMutation: { streamedResponse } };
  return encodeProcessingResponse(direction === 'request' ? { requestBody: { response } } : { responseBody: { response } });
}

describe('fast encoders', () => {
  it('streamed chunks match protobufjs for every length class of the varints', () => {
    for (const len of [0, 1, 127, 128, 16_383, 16_384, 62_000, 2_097_152]) {
      const body = Buffer.alloc(len, 0x5a);
      for (const direction of ['request', 'response'] as const) {
        for (const eos of [false, true]) {
          expect(encodeStreamedChunk(direction, body, eos).equals(viaProtobufjs(direction, body, eos)), `${direction} ${len} ${eos}`).toBe(true);
        }
      }
    }
  });

  it('streamed chunks match protobufjs on random bodies', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), fc.boolean(), (bytes, eos, req) => {
        const body = Buffer.from(bytes);
        const direction = req ? 'request' : 'response';
        return encodeStreamedChunk(direction, body, eos).equals(viaProtobufjs(direction, body, eos));
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('splits bodies into chunks of at most 62,000 bytes, end_of_stream on the last only', () => {
    const body = Buffer.alloc(150_000);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const chunks = encodeStreamedBody('request', body, true).map(decodeProcessingResponse);
    const parts = chunks.map((c) => c.requestBody!.response!.bodyMutation!.streamedResponse!);
    expect(parts.map((p) => Buffer.from(p.body ?? []).length)).toEqual([62_000, 62_000, 26_000]);
    expect(parts.map((p) => p.endOfStream === true)).toEqual([false, false, true]);
    expect(Buffer.concat(parts.map((p) => Buffer.from(p.body ?? []))).equals(body)).toBe(true);
    expect(encodeStreamedBody('response', Buffer.alloc(0), false)).toHaveLength(1);
  });

  it('routing responses match protobufjs, cached or not', () => {
    const plain = { destination: '10.0.0.2:8000,10.0.0.1:8000', generatedRequestId: null, removeHeaders: null, contentLength: -1 };
    const first = encodeRouteHeaders(plain);
    expect(first.equals(encodeProcessingResponse(routeHeadersResponse(plain)))).toBe(true);
    expect(encodeRouteHeaders({ ...plain })).toBe(first); // served from the cache
    const special = { ...plain, generatedRequestId: 'id-1', removeHeaders: ['x-gateway-destination-endpoint'] };
    expect(encodeRouteHeaders(special).equals(encodeProcessingResponse(routeHeadersResponse(special)))).toBe(true);
  });
});
