/**
 * Unit tests of the proxy front door's forwarding machinery: real pods (node:http), a real
 * proxy on loopback, and a recording stand-in for the director so each test can check the
 * proxy's side of the lifecycle contract. End-to-end behaviour with the real director is in
 * `proxy-openai.test.ts`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { sbError } from '../../src/errors.js';
import { EndpointPool } from '../../src/pool/pool.js';
import { startProxy } from '../../harness/index.js';
import { startProxyServer, type ProxyServer } from '../../src/frontends/proxy/index.js';
import type { ProxySettingsInput } from '../../src/frontends/proxy/options.js';
import { RecordingDirector, type RecordingDirectorOptions } from '../support/recording-director.js';
import { VllmPod } from '../support/vllm-pod.js';
import { readSse, until } from '../support/net.js';

interface Rig {
  pods: VllmPod[];
  pool: EndpointPool;
  director: RecordingDirector;
  proxy: ProxyServer;
}

const open: Rig[] = [];

async function rig(podCount: number, directorOptions: RecordingDirectorOptions = {}, settings: ProxySettingsInput = {}): Promise<Rig> {
  const pods = await Promise.all(Array.from({ length: podCount }, () => new VllmPod({ adapters: ['sql-lora'] }).start()));
  const pool = new EndpointPool();
  pool.setEndpoints(pods.map((p) => ({ address: '127.0.0.1', port: p.port })));
  pool.markSynced();
  const director = new RecordingDirector(pool, directorOptions);
  const proxy = await startProxy(director, pool, { settings: { modelsRefreshMs: 0, ...settings } });
  const r = { pods, pool, director, proxy };
  open.push(r);
  return r;
}

afterEach(async () => {
  for (const r of open.splice(0)) {
    await r.proxy.close();
    await Promise.all(r.pods.map((p) => p.stop()));
  }
});

const completionBody = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'base-model', prompt: 'hi', max_tokens: 5, ...extra });

function post(r: Rig, path: string, body: string, headers: Record<string, string> = {}) {
  return request(`${r.proxy.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}

describe('proxy forwarding', () => {
  it('forwards a non-streamed completion byte for byte and reports it to the lifecycle', async () => {
    const r = await rig(1);
    const res = await post(r, '/v1/completions', completionBody(), {
      'x-gateway-destination-endpoint': '10.9.9.9:1',
      'x-gateway-destination-endpoint-subset': '10.9.9.9:1',
      'x-gateway-inference-objective': 'chat',
    });
    const text = await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ object: 'text_completion', model: 'base-model', usage: { completion_tokens: 5 } });
    expect(res.headers['x-gateway-destination-endpoint-served']).toBe(r.pods[0].key);
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(text)));
    const rid = res.headers['x-request-id'];
    expect(typeof rid === 'string' && rid.length > 0).toBe(true);

    const seen = r.pods[0].stats.lastHeaders ?? {};
    expect(seen['x-request-id']).toBe(rid);
    expect(seen['x-gateway-inference-objective']).toBe('chat');
    expect(Object.keys(seen).filter((h) => h.startsWith('x-gateway-destination-endpoint'))).toEqual([]);

    const req = r.director.requests[0];
    expect(req.subset).toBeNull();
    expect(req.requestId).toBe(rid);
    expect(req.path).toBe('/v1/completions');
    expect(req.headers.get('x-gateway-inference-objective')).toBe('chat');
    const lc = r.director.lifecycles[0];
    expect(lc.servedKeys).toEqual([r.pods[0].key]);
    expect(lc.headers).toEqual([[200, 'application/json']]);
    expect(lc.bytes).toBe(Buffer.byteLength(text));
    expect(lc.sawEndOfStream).toBe(true);
    expect(lc.finishes).toEqual([['ok', undefined]]);
    expect(r.pool.inflight[r.pool.get(r.pods[0].key)!.slot]).toBe(0);
  });

  it('keeps the client request id', async () => {
    const r = await rig(1);
    const res = await post(r, '/v1/chat/completions', JSON.stringify({ model: 'base-model', messages: [{ role: 'user', content: 'x' }] }), {
      'x-request-id': 'abc-123',
    });
    await res.body.dump();
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(r.pods[0].stats.lastHeaders?.['x-request-id']).toBe('abc-123');
  });

  it('gives the director the route path and the pod the client path with its query', async () => {
    const r = await rig(1);
    const res = await post(r, '/v1/chat/completions/?trace=1', JSON.stringify({ model: 'base-model', messages: [] }));
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(r.director.requests[0].path).toBe('/v1/chat/completions');
    expect(r.pods[0].stats.lastUrl).toBe('/v1/chat/completions?trace=1');
  });

  it('passes an SSE stream through chunk by chunk with its content type', async () => {
    const r = await rig(1);
    r.pods[0].chunks = 20;
    const res = await post(r, '/v1/completions', completionBody({ max_tokens: 20, stream: true, stream_options: { include_usage: true } }));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const events = await readSse(res.body);
    expect(events.length).toBe(22); // 20 tokens, the usage chunk, [DONE]
    expect(events.at(-1)).toBe('[DONE]');
    expect(JSON.parse(events[20])).toMatchObject({ choices: [], usage: { completion_tokens: 20 } });
    const lc = r.director.lifecycles[0];
    expect(lc.chunks).toBeGreaterThanOrEqual(20); // never coalesced into one buffered body
    expect(lc.finishes).toEqual([['ok', undefined]]);
  });

  it('answers unknown routes with a 404 OpenAI error and forwards nothing', async () => {
    const r = await rig(1);
    for (const [method, path] of [['POST', '/v1/unknown'], ['GET', '/v1/completions'], ['POST', '/admin']] as const) {
      const res = await request(`${r.proxy.url}${path}`, { method, body: method === 'POST' ? '{}' : undefined });
      expect(res.statusCode).toBe(404);
      const err = (await res.body.json()) as { error: { message: string; type: string; code: string } };
      expect(err.error).toMatchObject({ type: 'not_found_error', code: 'SB_ERR_NOT_FOUND' });
      expect(err.error.message).toContain(path);
    }
    expect(r.pods[0].stats.requests).toBe(0);
    expect(r.director.requests.length).toBe(0);
  });

  it('rejects a body over the limit with 413', async () => {
    const r = await rig(1, {}, { maxBodyBytes: 1000 });
    const res = await post(r, '/v1/completions', completionBody({ prompt: 'x'.repeat(2000) }));
    expect(res.statusCode).toBe(413);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('SB_ERR_BODY_TOO_LARGE');
    expect(r.director.requests.length).toBe(0);
  });

  it('passes a director rejection through with its status', async () => {
    const r = await rig(1, { reject: sbError('SB_ERR_SHED') });
    const res = await post(r, '/v1/completions', completionBody());
    expect(res.statusCode).toBe(429);
    expect(await res.body.json()).toEqual({
      error: { message: 'system saturated, sheddable request dropped', type: 'rate_limit_error', param: null, code: 'SB_ERR_SHED' },
    });
    expect(r.pods[0].stats.requests).toBe(0);
  });

  it('returns the scheduling explanation when the debug header asks', async () => {
    const r = await rig(2, { fallbacks: 2 });
    const plain = await post(r, '/v1/completions', completionBody());
    await plain.body.dump();
    expect(plain.headers['x-switchboard-explanation']).toBeUndefined();
    const res = await post(r, '/v1/completions', completionBody(), { 'x-switchboard-debug': 'explain' });
    await res.body.dump();
    expect(r.director.requests[1].explain).toBe(true);
    expect(JSON.parse(String(res.headers['x-switchboard-explanation']))).toMatchObject({ picked: [r.pods[0].key, r.pods[1].key] });
  });
});

describe('proxy failure handling', () => {
  it('retries a refused connection on the next fallback endpoint', async () => {
    const r = await rig(2, { fallbacks: 2 });
    await r.pods[0].stop();
    const res = await post(r, '/v1/completions', completionBody());
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-gateway-destination-endpoint-served']).toBe(r.pods[1].key);
    expect(r.director.requests.length).toBe(1);
    expect(r.director.lifecycles[0].servedKeys).toEqual([r.pods[1].key]);
    expect(r.director.lifecycles[0].finishes).toEqual([['ok', undefined]]);
  });

  it('asks the director again, without the failed pod, when the fallbacks are used up', async () => {
    const r = await rig(2, { fallbacks: 1 });
    await r.pods[0].stop();
    const res = await post(r, '/v1/completions', completionBody());
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-gateway-destination-endpoint-served']).toBe(r.pods[1].key);
    expect(r.director.requests.map((q) => [q.subset, q.exclude === undefined || q.exclude === null ? null : [...q.exclude], q.retry === true])).toEqual([
      [null, null, false],
      [null, [r.pods[0].key], true],
    ]);
    const [first, second] = r.director.lifecycles;
    expect(first.finishes).toEqual([['retried', undefined]]);
    expect(second.finishes).toEqual([['ok', undefined]]);
    for (const ep of r.pool.endpoints()) expect(r.pool.inflight[ep.slot]).toBe(0);
  });

  it('answers 503 when no pod accepts the connection, after a bounded number of attempts', async () => {
    const r = await rig(3, { fallbacks: 3 }, { retries: { max: 1 } });
    await Promise.all(r.pods.map((p) => p.stop()));
    const res = await post(r, '/v1/completions', completionBody());
    expect(res.statusCode).toBe(503);
    const body = (await res.body.json()) as { error: { code: string; type: string } };
    expect(body.error).toMatchObject({ code: 'SB_ERR_UPSTREAM_CONNECT', type: 'service_unavailable_error' });
    expect(r.director.requests.length).toBe(1); // two attempts fit in the fallback list
    expect(r.director.lifecycles[0].finishes).toEqual([['error', 'SB_ERR_UPSTREAM_CONNECT']]);
  });

  it('answers 504 when the pod sends no headers within the first-byte timeout', async () => {
    const r = await rig(1, {}, { timeouts: { firstByteMs: 100 }, retries: { max: 0 } });
    r.pods[0].headerDelayMs = 2000;
    const res = await post(r, '/v1/completions', completionBody());
    expect(res.statusCode).toBe(504);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('SB_ERR_UPSTREAM_TIMEOUT');
    expect(r.director.lifecycles[0].finishes).toEqual([['error', 'SB_ERR_UPSTREAM_TIMEOUT']]);
  });

  it('ends a stream whose pod dies with an SSE error event, without retrying', async () => {
    const r = await rig(2, { fallbacks: 2 });
    r.pods[0].chunks = 10;
    r.pods[0].chunkDelayMs = 5;
    r.pods[0].dieAfterChunks = 3;
    const res = await post(r, '/v1/completions', completionBody({ stream: true }));
    expect(res.statusCode).toBe(200);
    const events = await readSse(res.body);
    expect(events.length).toBe(4);
    expect(JSON.parse(events[3])).toMatchObject({ error: { code: 'SB_ERR_UPSTREAM_BROKEN', type: 'upstream_error' } });
    expect(r.pods[1].stats.requests).toBe(0);
    expect(r.director.lifecycles[0].finishes).toEqual([['error', 'SB_ERR_UPSTREAM_BROKEN']]);
  });

  it('ends a stream that stalls longer than the idle-stream timeout', async () => {
    const r = await rig(1, {}, { timeouts: { idleStreamMs: 150 } });
    r.pods[0].chunks = 3;
    r.pods[0].chunkDelayMs = 5000;
    const res = await post(r, '/v1/completions', completionBody({ stream: true }));
    const events = await readSse(res.body);
    expect(events.length).toBe(2);
    expect(JSON.parse(events[1])).toMatchObject({ error: { code: 'SB_ERR_UPSTREAM_BROKEN' } });
    expect(JSON.parse(events[1]).error.message).toContain('stalled');
    expect(r.director.lifecycles[0].finishes).toEqual([['error', 'SB_ERR_UPSTREAM_BROKEN']]);
    await until(() => r.pods[0].stats.aborted === 1); // the stalled upstream request was closed
  });

  it('aborts the upstream request at once when the client goes away mid-stream', async () => {
    const r = await rig(1);
    const pod = r.pods[0];
    pod.chunks = 1000;
    pod.chunkDelayMs = 10;
    const res = await post(r, '/v1/completions', completionBody({ max_tokens: 1000, stream: true }));
    // Read two events, then drop the connection.
    let seen = 0;
    res.body.on('error', () => undefined); // our own destroy
    await new Promise<void>((resolve) => {
      res.body.on('data', () => {
        if (++seen === 2) {
          res.body.destroy();
          resolve();
        }
      });
    });
    await until(() => pod.stats.aborted === 1 && r.proxy.activeRequests === 0);
    expect(pod.stats.inflight).toBe(0);
    expect(pod.stats.completed).toBe(0);
    const lc = r.director.lifecycles[0];
    expect(lc.finishes).toEqual([['cancelled', undefined]]);
    expect(r.pool.inflight[r.pool.get(pod.key)!.slot]).toBe(0);
  });

  it('releases a request waiting in admission when its client goes away', async () => {
    const r = await rig(1, { holdUntilAborted: true });
    const ac = new AbortController();
    const pending = request(`${r.proxy.url}/v1/completions`, { method: 'POST', body: completionBody(), signal: ac.signal }).catch(() => null);
    await until(() => r.director.requests.length === 1);
    expect(r.director.requests[0].signal?.aborted).toBe(false);
    expect(r.proxy.activeRequests).toBe(1);
    ac.abort();
    expect(await pending).toBeNull();
    await until(() => r.proxy.activeRequests === 0);
    expect(r.director.requests[0].signal?.aborted).toBe(true);
    expect(r.pods[0].stats.requests).toBe(0);
  });

  it('pauses the pod while the client does not read (backpressure)', async () => {
    const r = await rig(1);
    const pod = r.pods[0];
    pod.chunks = 800;
    pod.chunkPadding = 64 * 1024; // 50 MiB in all: far more than the sockets on the way can hold
    const res = await post(r, '/v1/completions', completionBody({ max_tokens: 800, stream: true }));
    res.body.pause();
    // Wait until the pod stops being able to send: its own socket is full because the proxy stopped reading.
    await until(() => pod.stats.requests === 1);
    let last = -1;
    await until(() => {
      const now = r.director.lifecycles[0].bytes;
      const still = now === last;
      last = now;
      return still && now > 0;
    }, 100);
    expect(r.director.lifecycles[0].sawEndOfStream).toBe(false);
    expect(r.director.lifecycles[0].bytes).toBeLessThan(800 * 64 * 1024 / 2);
    res.body.resume();
    const events = await readSse(res.body);
    expect(events.at(-1)).toBe('[DONE]');
    expect(r.director.lifecycles[0].finishes).toEqual([['ok', undefined]]);
  });
});

describe('proxy service routes', () => {
  it('serves the union of the fleet models with adapters linked to their base', async () => {
    const r = await rig(1);
    const other = await new VllmPod({ model: 'other-model', adapters: ['chat-lora'] }).start();
    r.pods.push(other);
    r.pool.upsert({ address: '127.0.0.1', port: other.port });
    await r.proxy.catalog.refresh();
    const res = await request(`${r.proxy.url}/v1/models`);
    const list = (await res.body.json()) as { object: string; data: Array<{ id: string; parent: string | null; object: string }> };
    expect(list.object).toBe('list');
    expect(list.data.map((m) => [m.id, m.parent])).toEqual([
      ['base-model', null],
      ['other-model', null],
      ['chat-lora', 'other-model'],
      ['sql-lora', 'base-model'],
    ]);
    const one = await request(`${r.proxy.url}/v1/models/chat-lora`);
    expect(await one.body.json()).toMatchObject({ id: 'chat-lora', parent: 'other-model', object: 'model' });
    const missing = await request(`${r.proxy.url}/v1/models/nope`);
    expect(missing.statusCode).toBe(404);
    await missing.body.dump();

    r.pool.remove(other.key);
    const after = (await (await request(`${r.proxy.url}/v1/models`)).body.json()) as { data: Array<{ id: string }> };
    expect(after.data.map((m) => m.id)).toEqual(['base-model', 'sql-lora']);
  });

  it('fails to start on a taken port without leaving pool listeners behind', async () => {
    const r = await rig(1);
    const pool = r.pool as unknown as { listeners: Set<unknown> };
    const before = pool.listeners.size;
    await expect(startProxyServer({ director: r.director, pool: r.pool, port: r.proxy.address.port, host: '127.0.0.1' })).rejects.toThrow(/EADDRINUSE/);
    expect(pool.listeners.size).toBe(before);
  });

  it('answers /health, and /ready only while it can route', async () => {
    const r = await rig(1);
    expect((await request(`${r.proxy.url}/health`)).statusCode).toBe(200);
    const ready = await request(`${r.proxy.url}/ready`);
    expect(ready.statusCode).toBe(200);
    await ready.body.dump();
    r.pool.remove(r.pods[0].key);
    const notReady = await request(`${r.proxy.url}/ready`);
    expect(notReady.statusCode).toBe(503);
    await notReady.body.dump();
  });

  it('drains: running streams finish, new requests get 503', async () => {
    const r = await rig(1);
    r.pods[0].chunks = 20;
    r.pods[0].chunkDelayMs = 10;
    const res = await post(r, '/v1/completions', completionBody({ max_tokens: 20, stream: true }));
    const eventsP = readSse(res.body);
    const drained = r.proxy.drain();
    // A new request either finds the listener closed or gets 503; it is never forwarded.
    const late = await post(r, '/v1/completions', completionBody()).catch(() => null);
    if (late !== null) {
      expect(late.statusCode).toBe(503);
      await late.body.dump();
    }
    expect(r.pods[0].stats.requests).toBe(1);
    expect((await eventsP).at(-1)).toBe('[DONE]');
    await drained;
    expect(r.director.lifecycles[0].finishes).toEqual([['ok', undefined]]);
  });
});
