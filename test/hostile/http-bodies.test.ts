/**
 * Hostile request bodies through both front doors, end to end: the OpenAI proxy over real HTTP
 * and the ext_proc server driven by an Envoy emulator (frames plus the real upstream request),
 * both in front of the real core and recording pods. For every case: the right status and a
 * clear message on both doors, the error counted, a streamed request already in flight finishes
 * untouched, and the process stays healthy.
 */
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServingStatus } from '../../src/frontends/health/health-codec.js';
import { grpcHealth } from '../support/health-probe.js';
import { startTwoDoors, type TwoDoors } from '../support/two-doors.js';

const LIMIT = 12 * 1024 * 1024;
let td: TwoDoors;

beforeAll(async () => {
  td = await startTwoDoors({
    pods: 2,
    pod: { model: 'base-model', adapters: ['sql-lora'], chunks: 6, chunkDelayMs: 15 },
    extproc: { maxBodyBytes: LIMIT },
    proxy: { maxBodyBytes: LIMIT },
  });
});
afterAll(async () => {
  await td?.close();
});

interface Answer {
  status: number;
  text: string;
}

async function viaProxy(body: Buffer | string, headers: Record<string, string> = { 'content-type': 'application/json' }, path = '/v1/completions'): Promise<Answer> {
  const res = await request(`${td.proxyUrl}${path}`, { method: 'POST', headers, body });
  return { status: res.statusCode, text: await res.body.text() };
}

async function viaEnvoy(body: Buffer | string | null, headers: Record<string, string> = { 'content-type': 'application/json' }, path = '/v1/completions'): Promise<Answer> {
  const buf = body === null ? null : Buffer.isBuffer(body) ? body : Buffer.from(body);
  // Envoy streams a large body in pieces; 1 MiB stands in for its buffer-sized chunks.
  const splitAt = buf === null ? [] : Array.from({ length: Math.floor(buf.length / (1 << 20)) }, (_, i) => (i + 1) << 20);
  const res = await td.emulator.send({ path, headers, body: buf, splitAt });
  return { status: res.status, text: res.body.toString('utf8') };
}

/** A streamed completion started before the hostile request and checked after it. */
function goodRequestInFlight(): Promise<void> {
  const proxied = (async () => {
    const res = await request(`${td.proxyUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'base-model', prompt: 'steady', stream: true }),
    });
    const text = await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(text.split('data: ').length - 1).toBe(7);
  })();
  const envoyed = (async () => {
    const res = await td.emulator.send({ path: '/v1/completions', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'base-model', prompt: 'steady', stream: true }) });
    expect(res.status).toBe(200);
    expect(res.body.toString().endsWith('data: [DONE]\n\n')).toBe(true);
  })();
  return Promise.all([proxied, envoyed]).then(() => undefined);
}

async function stillHealthy(): Promise<void> {
  expect(await grpcHealth(td.extproc.healthPort!, 'readiness')).toBe(ServingStatus.SERVING);
  expect((await request(`${td.proxyUrl}/ready`)).statusCode).toBe(200);
}

const completion = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'base-model', prompt: 'hello', ...extra });

interface Case {
  name: string;
  body: Buffer | string;
  headers?: Record<string, string>;
  path?: string;
  status: number;
  /** Text both doors' answers contain. */
  message: RegExp;
  /** The `reason` label of switchboard_rejected_input_total, or null when the request is routed. */
  reason: string | null;
}

const CASES: Case[] = [
  { name: 'invalid JSON', body: '{"model":"base-model","prompt":', status: 400, message: /error unmarshaling request body/, reason: 'SB_ERR_BAD_JSON' },
  { name: 'trailing garbage', body: `${completion()} garbage`, status: 400, message: /unexpected data after the JSON object/, reason: 'SB_ERR_BAD_JSON' },
  { name: 'nesting 100,000 deep', body: `{"model":"base-model","prompt":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, status: 400, message: /nesting deeper than 128/, reason: 'SB_ERR_BAD_JSON' },
  { name: 'duplicate model keys', body: '{"model":"base-model","prompt":"x","model":"sql-lora"}', status: 400, message: /duplicate key \\?"model\\?"/, reason: 'SB_ERR_BAD_JSON' },
  { name: 'a number where the model name belongs', body: '{"model":123,"prompt":"x"}', status: 400, message: /\\?"model\\?" must be a string/, reason: 'SB_ERR_BAD_JSON' },
  { name: 'a string where stream belongs', body: completion({ stream: 'yes' }), status: 400, message: /\\?"stream\\?" must be a boolean/, reason: 'SB_ERR_BAD_JSON' },
  { name: 'an object where messages belong', body: '{"model":"base-model","messages":{"role":"user"}}', path: '/v1/chat/completions', status: 400, message: /\\?"messages\\?" must be an array/, reason: 'SB_ERR_BAD_JSON' },
  { name: 'a JSON array body', body: '[{"model":"base-model"}]', status: 400, message: /must be a JSON object/, reason: 'SB_ERR_BAD_JSON' },
  { name: 'non-UTF-8 bytes', body: Buffer.concat([Buffer.from('{"model":"base-model","prompt":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]), status: 400, message: /not valid UTF-8/, reason: 'SB_ERR_BAD_JSON' },
  { name: 'a form content type', body: completion(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 400, message: /content-type must be application\/json/, reason: 'SB_ERR_BAD_REQUEST_SHAPE' },
  { name: 'a missing model', body: '{"prompt":"hello"}', status: 400, message: /model not found in request body/, reason: 'SB_ERR_MODEL_MISSING' },
  { name: 'chat without messages', body: '{"model":"base-model","messages":[]}', path: '/v1/chat/completions', status: 400, message: /non-empty \\?"messages\\?" array/, reason: 'SB_ERR_BAD_REQUEST_SHAPE' },
];

describe('hostile bodies are refused the same way by both doors', () => {
  it.each(CASES)('$name: $status with a clear message, counted, nothing disturbed', async (c) => {
    const before = await td.metric('switchboard_rejected_input_total', { source: 'request_body', reason: c.reason! });
    const inFlight = goodRequestInFlight();
    const [p, e] = await Promise.all([viaProxy(c.body, c.headers, c.path), viaEnvoy(c.body, c.headers, c.path)]);
    expect(p.status).toBe(c.status);
    expect(e.status).toBe(c.status);
    expect(p.text).toMatch(c.message);
    expect(JSON.parse(p.text).error.code).toBe(c.reason);
    expect(e.text).toMatch(/^inference error: BadRequest - /);
    expect(e.text).toMatch(c.message);
    expect(await td.metric('switchboard_rejected_input_total', { source: 'request_body', reason: c.reason! })).toBe(before + 2);
    await inFlight;
    await stillHealthy();
  });
});

describe('large and unusual but valid bodies are routed', () => {
  it('routes a 10 MB body on both doors; the pod receives it whole', async () => {
    const prompt = 'x'.repeat(10 * 1000 * 1000);
    const body = completion({ prompt });
    const inFlight = goodRequestInFlight();
    const [p, e] = await Promise.all([viaProxy(body), viaEnvoy(body)]);
    expect(p.status).toBe(200);
    expect(e.status).toBe(200);
    expect(td.pods.some((pod) => (pod.stats.lastBody?.prompt as string | undefined)?.length === prompt.length)).toBe(true);
    await inFlight;
    await stillHealthy();
  });

  it('refuses a body over the limit with 413 on both doors, counted per door', async () => {
    const body = Buffer.alloc(LIMIT + 1024, 0x20);
    const before = [
      await td.metric('switchboard_proxy_errors_total', { code: 'SB_ERR_BODY_TOO_LARGE' }),
      await td.metric('switchboard_extproc_local_rejections_total', { code: 'SB_ERR_BODY_TOO_LARGE' }),
    ];
    const inFlight = goodRequestInFlight();
    const [p, e] = await Promise.all([viaProxy(body), viaEnvoy(body)]);
    expect(p.status).toBe(413);
    expect(JSON.parse(p.text).error.message).toBe(`request body exceeds ${LIMIT} bytes`);
    expect(e).toEqual({ status: 413, text: `inference error: PayloadTooLarge - request body exceeds ${LIMIT} bytes` });
    expect(await td.metric('switchboard_proxy_errors_total', { code: 'SB_ERR_BODY_TOO_LARGE' })).toBe(before[0] + 1);
    expect(await td.metric('switchboard_extproc_local_rejections_total', { code: 'SB_ERR_BODY_TOO_LARGE' })).toBe(before[1] + 1);
    await inFlight;
    await stillHealthy();
  });

  it('routes a huge prompt string and a prompt of token ids', async () => {
    for (const body of [completion({ prompt: 'é'.repeat(2_000_000) }), completion({ prompt: Array.from({ length: 50_000 }, (_, i) => i % 32000) })]) {
      const [p, e] = await Promise.all([viaProxy(body), viaEnvoy(body)]);
      expect([p.status, e.status]).toEqual([200, 200]);
    }
    await stillHealthy();
  });

  it('passes an unknown model to a pod, whose 404 reaches the client on both doors', async () => {
    // The pods are the authority on model names (adapters load at run time); the picker routes.
    const body = completion({ model: 'no-such-model' });
    const [p, e] = await Promise.all([viaProxy(body), viaEnvoy(body)]);
    expect([p.status, e.status]).toEqual([404, 404]);
    expect(p.text).toContain('The model `no-such-model` does not exist.');
    expect(e.text).toContain('The model `no-such-model` does not exist.');
  });

  it('refuses an empty body on the proxy (400); Envoy sends it header-only and the pod refuses it', async () => {
    const before = await td.metric('switchboard_rejected_input_total', { source: 'request_body', reason: 'SB_ERR_BAD_JSON' });
    const p = await viaProxy('');
    expect(p.status).toBe(400);
    expect(JSON.parse(p.text).error.message).toBe('error unmarshaling request body: empty request body');
    expect(await td.metric('switchboard_rejected_input_total', { source: 'request_body', reason: 'SB_ERR_BAD_JSON' })).toBe(before + 1);
    // Envoy marks a body-less request end_of_stream on the headers: routed like the Go EPP does.
    const e = await viaEnvoy(null);
    expect(e.status).toBe(400);
    expect(e.text).toContain('bad json');
  });
});

describe('generated bodies (fast-check)', () => {
  it('every body gets a 200 or a 4xx with a message on both doors, never a 5xx', async () => {
    const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v));
    const request = fc.record({ model: fc.oneof(fc.constant('base-model'), fc.string({ maxLength: 8 }), fc.integer()), prompt: fc.oneof(fc.string(), fc.array(fc.integer())) }).map((o) => JSON.stringify(o));
    const mangled = fc.tuple(request, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([text, at, bytes]) => {
      const b = Buffer.from(text);
      const i = at % (b.length + 1);
      return Buffer.concat([b.subarray(0, i), Buffer.from(bytes), b.subarray(i)]);
    });
    const body = fc.oneof(json.map((t) => Buffer.from(t)), request.map((t) => Buffer.from(t)), mangled);
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const [p, e] = await Promise.all([viaProxy(b), viaEnvoy(b)]);
        for (const a of [p, e]) {
          expect(a.status === 200 || (a.status >= 400 && a.status < 500), `${a.status} ${a.text}`).toBe(true);
          if (a.status !== 200) expect(a.text.length).toBeGreaterThan(10);
        }
        expect(p.status).toBe(e.status);
      }),
      { numRuns: 40, seed: 8_2026 },
    );
    await stillHealthy();
  });
});
