/**
 * The ext_proc exchange the benchmark replays: an OpenAI completion request as Envoy streams it
 * in FULL_DUPLEX_STREAMED mode (headers with protocol_config, then the body in 16 KiB pieces,
 * end_of_stream on the last), pre-encoded as gRPC length-prefixed frames, and the responses a
 * correct server sends back (for the floor server, pre-encoded too).
 */
import { encodeProcessingRequest } from '../src/frontends/extproc/codec.js';
import { encodeRouteHeaders, encodeStreamedBody } from '../src/frontends/extproc/fast-encode.js';
import { BodySendMode, type ProcessingRequest } from '../src/frontends/extproc/messages.js';

/** Body piece size Envoy forwards as data arrives (one HTTP/2 frame's worth). */
export const ENVOY_CHUNK_BYTES = 16 * 1024;

/** Destination the floor server claims (any fixed value; it does no work). */
export const FLOOR_DESTINATION = '10.0.0.1:8000';

const WORDS = 'the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part'.split(' ');

/** A completion request body of exactly `bytes` bytes with a deterministic, word-like prompt. */
export function requestBody(bytes: number): Buffer {
  const head = '{"model":"meta-llama/Llama-3.1-8B-Instruct","max_tokens":128,"temperature":0,"stream":true,"prompt":"';
  const tail = '"}';
  const room = bytes - head.length - tail.length;
  if (room < 1) throw new Error(`body of ${bytes} bytes is too small`);
  let prompt = '';
  let seed = 12345;
  while (prompt.length < room) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    prompt += WORDS[seed % WORDS.length] + ' ';
  }
  return Buffer.from(head + prompt.slice(0, room) + tail, 'utf8');
}

/** The request headers Envoy sends for an OpenAI call through a gateway. */
function requestHeaders(bodyBytes: number): ProcessingRequest {
  const h: Array<[string, string]> = [
    [':authority', 'inference-gateway.example:8081'],
    [':path', '/v1/completions'],
    [':method', 'POST'],
    [':scheme', 'http'],
    ['user-agent', 'OpenAI/Python 1.99.0'],
    ['accept', 'application/json'],
    ['content-type', 'application/json'],
    ['content-length', String(bodyBytes)],
    ['authorization', 'Bearer sk-bench-0000000000000000'],
    ['x-forwarded-proto', 'http'],
    ['x-request-id', '5d1c4a4e-8f5e-4c1b-9d55-3f6a0a1b2c3d'],
    ['x-gateway-inference-objective', 'standard'],
  ];
  return {
    requestHeaders: { headers: { headers: h.map(([key, v]) => ({ key, rawValue: Buffer.from(v) })) }, endOfStream: false },
    protocolConfig: { requestBodyMode: BodySendMode.FULL_DUPLEX_STREAMED, responseBodyMode: BodySendMode.FULL_DUPLEX_STREAMED },
  };
}

/** The request messages of one exchange, in order. */
export function requestMessages(bodyBytes: number): ProcessingRequest[] {
  const body = requestBody(bodyBytes);
  const out: ProcessingRequest[] = [requestHeaders(bodyBytes)];
  for (let off = 0; off < body.length; off += ENVOY_CHUNK_BYTES) {
    const end = Math.min(off + ENVOY_CHUNK_BYTES, body.length);
    out.push({ requestBody: { body: body.subarray(off, end), endOfStream: end === body.length } });
  }
  return out;
}

/** One gRPC message frame: flag byte 0 (uncompressed), 4-byte big-endian length, payload. */
export function grpcFrame(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(5 + payload.length);
  frame[0] = 0;
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  return frame;
}

/** The request side of one exchange as the bytes of an HTTP/2 request body (what h2load sends). */
export function requestStreamBytes(bodyBytes: number): Buffer {
  return Buffer.concat(requestMessages(bodyBytes).map((m) => grpcFrame(encodeProcessingRequest(m))));
}

/** The responses a server must send for one exchange with an unchanged body, encoded. */
export function expectedResponses(bodyBytes: number, destination = FLOOR_DESTINATION): Buffer[] {
  return [
    encodeRouteHeaders({ destination, generatedRequestId: null, removeHeaders: null, contentLength: -1 }),
    ...encodeStreamedBody('request', requestBody(bodyBytes), true),
  ];
}
