/**
 * The retry interceptor on its own, composed on the per-pod pools with real HTTP pods on
 * loopback: which pods an attempt goes to, when it stops, and what the request's handler hears.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/pool/endpoint.js';
import { EndpointPool } from '../../src/pool/pool.js';
import { resolveProxySettings } from '../../src/frontends/proxy/options.js';
import { retryInterceptor, type UpstreamRoute } from '../../src/frontends/proxy/retry-interceptor.js';
import { UpstreamError } from '../../src/frontends/proxy/upstream-failure.js';
import { UpstreamPools } from '../../src/frontends/proxy/upstream-pools.js';

type Behaviour = 'ok' | 503 | 'reset' | 'big' | 'slow';

/** Size of the 'big' pod's answer: many chunks, so a paused reader holds the pod back. */
const BIG = 4 * 1024 * 1024;

const servers: Server[] = [];
let upstreams: UpstreamPools | null = null;
afterEach(async () => {
  await upstreams?.shutdown(true);
  upstreams = null;
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A pod answering every request one way; `hits` counts them. */
async function pod(behaviour: Behaviour): Promise<{ port: number; hits: number }> {
  const state = { port: 0, hits: 0 };
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.hits++;
      if (behaviour === 'reset') req.socket.destroy();
      else if (behaviour === 503) res.writeHead(503).end('busy');
      else if (behaviour === 'big') res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-pod': 'big' }).end(Buffer.alloc(BIG, 7));
      else if (behaviour === 'slow') res.writeHead(200, { 'content-type': 'text/plain' }).write('first'); // never ends
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok from ${state.port}`);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
  state.port = (s.address() as AddressInfo).port;
  return state;
}

/** A route over `first` whose re-pick offers `second` (or nothing), recording what it was asked. */
class TestRoute implements UpstreamRoute {
  open = true;
  parsedHeaders = true;
  body: Buffer | null = Buffer.from('{}');
  readonly attempts: string[] = [];
  readonly repicks: string[][] = [];
  constructor(
    public endpoints: readonly Endpoint[],
    private readonly second: readonly Endpoint[] | null,
  ) {}
  attempting(ep: Endpoint): void {
    this.attempts.push(ep.key);
  }
  async repick(failed: readonly string[]): Promise<boolean> {
    this.repicks.push([...failed]);
    if (this.second === null) return false;
    this.endpoints = this.second;
    return true;
  }
}

/** Collects what the request's handler hears. */
function collector(): { handler: Dispatcher.DispatchHandler; done: Promise<{ status: number; body: string } | UpstreamError> } {
  let status = 0;
  const chunks: Buffer[] = [];
  let settle!: (v: { status: number; body: string } | UpstreamError) => void;
  const done = new Promise<{ status: number; body: string } | UpstreamError>((r) => (settle = r));
  // onRequestStart marks a handler of undici's current API (without it undici wraps it as a legacy one).
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart: () => undefined,
    onResponseStart: (_c, s) => void (status = s),
    onResponseData: (_c, chunk) => void chunks.push(chunk),
    onResponseEnd: () => settle({ status, body: Buffer.concat(chunks).toString() }),
    onResponseError: (_c, err) => settle(err as UpstreamError),
  };
  return { handler, done };
}

async function setup(behaviours: Behaviour[], max: number, repick: boolean) {
  const pods = await Promise.all(behaviours.map(pod));
  const endpoints = new EndpointPool();
  const eps = pods.map((p, i) => endpoints.upsert({ name: `pod-${i}`, address: '127.0.0.1', port: p.port }));
  const counts = { fallback: 0, repick: 0, failures: [] as string[] };
  const metrics = { upstreamFailure: (r: string) => void counts.failures.push(r), retry: (k: 'fallback' | 'repick') => void counts[k]++ };
  upstreams = new UpstreamPools(endpoints, resolveProxySettings({}));
  const interceptor = retryInterceptor({ max, repick, endpoints, metrics });
  const upstream = upstreams.intercept(interceptor);
  return { pods, eps, counts, upstream, composed: upstreams.compose(interceptor) };
}

describe('retry interceptor', () => {
  it('moves past a 503 and a reset to the next fallback and passes the good answer on', async () => {
    const { pods, eps, counts, upstream } = await setup([503, 'reset', 'ok'], 2, false);
    const route = new TestRoute(eps, null);
    const { handler, done } = collector();
    upstream.dispatch({ method: 'POST', path: '/v1/completions', headers: [], route } as Dispatcher.DispatchOptions, handler);
    const result = await done;
    expect(result).toEqual({ status: 200, body: `ok from ${pods[2].port}` });
    expect(route.attempts).toEqual(eps.map((e) => e.key));
    expect(pods.map((p) => p.hits)).toEqual([1, 1, 1]);
    expect(counts).toEqual({ fallback: 2, repick: 0, failures: ['status_5xx', 'reset'] });
  });

  it('re-picks once the fallbacks are used up, and stops at the retry budget', async () => {
    const { eps, counts, upstream } = await setup([503, 503, 'ok'], 1, true);
    const route = new TestRoute([eps[0]], [eps[1], eps[2]]);
    const { handler, done } = collector();
    upstream.dispatch({ method: 'POST', path: '/x', headers: [], route } as Dispatcher.DispatchOptions, handler);
    const result = await done;
    // One extra attempt allowed: pod-0 fails, the re-pick sends to pod-1, whose 503 is the answer.
    expect(result).toEqual({ status: 503, body: 'busy' });
    expect(route.repicks).toEqual([[eps[0].key]]);
    expect(route.attempts).toEqual([eps[0].key, eps[1].key]);
    expect(counts).toEqual({ fallback: 0, repick: 1, failures: ['status_5xx'] });
  });

  it('hands the request an UpstreamError naming every failed pod when no pod is left', async () => {
    const { eps, upstream } = await setup(['reset', 'reset'], 5, true);
    const route = new TestRoute(eps, null);
    const { handler, done } = collector();
    upstream.dispatch({ method: 'POST', path: '/x', headers: [], route } as Dispatcher.DispatchOptions, handler);
    const err = await done;
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).failed).toEqual(eps.map((e) => e.key));
    expect((err as UpstreamError).error.code).toBe('SB_ERR_UPSTREAM_UNAVAILABLE');
    expect(route.repicks).toEqual([]); // every pod of the pool failed: no new pick is asked for
  });

  it('lets a dispatch without a route through untouched', async () => {
    const { pods, eps, upstream } = await setup(['ok'], 2, true);
    const { handler, done } = collector();
    upstream.dispatch({ origin: `http://${eps[0].key}`, method: 'GET', path: '/' }, handler);
    expect(await done).toEqual({ status: 200, body: `ok from ${pods[0].port}` });
  });

  it('gives the handler one controller for the whole request, with the served attempt\'s raw headers, and pause and resume reach the pod', async () => {
    const { eps, upstream } = await setup([503, 'big'], 2, false);
    const route = new TestRoute(eps, null);
    const starts: Dispatcher.DispatchController[] = [];
    let received = 0;
    let paused = 0;
    let whilePaused = 0;
    let parsed: Record<string, unknown> = {};
    let rawHeaders: unknown = null;
    let settle!: (v: number | Error) => void;
    const done = new Promise<number | Error>((r) => (settle = r));
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: (c) => void starts.push(c),
      onResponseStart: (c, _s, headers) => {
        rawHeaders = c.rawHeaders;
        parsed = headers;
      },
      onResponseData: (c, chunk) => {
        received += chunk.length;
        if (c.paused) whilePaused++;
        if (!c.paused && paused < 3) {
          // A slow client: hold the pod back for a moment, three times.
          paused++;
          c.pause();
          setTimeout(() => c.resume(), 20);
        }
      },
      onResponseEnd: () => settle(received),
      onResponseError: (_c, err) => settle(err),
    };
    upstream.dispatch({ method: 'POST', path: '/x', headers: [], route } as Dispatcher.DispatchOptions, handler);
    expect(await done).toBe(BIG);
    expect(paused).toBe(3);
    expect(whilePaused).toBe(0);
    // Both attempts started on the same controller: pausing or aborting it reaches whichever attempt is current.
    expect(starts.length).toBe(2);
    expect(starts[0]).toBe(starts[1]);
    const raw = (rawHeaders as Buffer[]).map(String);
    expect(raw[raw.findIndex((h) => h.toLowerCase() === 'x-pod') + 1]).toBe('big');
    expect(parsed['x-pod']).toBe('big');
  });

  it('aborting the controller stops the current attempt and is not retried', async () => {
    const { pods, eps, counts, upstream } = await setup(['slow', 'ok'], 2, true);
    const route = new TestRoute(eps, null);
    let settle!: (v: Error) => void;
    const done = new Promise<Error>((r) => (settle = r));
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: () => undefined,
      onResponseData: (c) => {
        route.open = false; // the client left: nobody waits for the answer
        c.abort(new Error('client gone'));
        expect(c.aborted).toBe(true);
      },
      onResponseError: (_c, err) => settle(err),
    };
    upstream.dispatch({ method: 'POST', path: '/x', headers: [], route } as Dispatcher.DispatchOptions, handler);
    expect((await done).message).toBe('client gone');
    expect(route.attempts).toEqual([eps[0].key]);
    expect(pods[1].hits).toBe(0);
    expect(counts).toEqual({ fallback: 0, repick: 0, failures: [] });
  });

  it('skips parsing the headers for a route that reads the raw ones', async () => {
    const { eps, upstream } = await setup(['ok'], 0, false);
    const route = new TestRoute(eps, null);
    route.parsedHeaders = false;
    let seen: { parsed: object; raw: unknown } | null = null;
    let settle!: () => void;
    const done = new Promise<void>((r) => (settle = r));
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: () => undefined,
      onResponseStart: (c, _s, headers) => void (seen = { parsed: headers, raw: c.rawHeaders }),
      onResponseEnd: () => settle(),
      onResponseError: () => settle(),
    };
    upstream.dispatch({ method: 'POST', path: '/x', headers: [], route } as Dispatcher.DispatchOptions, handler);
    await done;
    const s = seen as unknown as { parsed: object; raw: Buffer[] };
    expect(s.parsed).toEqual({});
    expect(s.raw.map(String).map((h) => h.toLowerCase())).toContain('content-type');
  });

  it('works the same composed with undici\'s own compose', async () => {
    const { pods, eps, counts, composed } = await setup([503, 'ok'], 1, false);
    const route = new TestRoute(eps, null);
    const { handler, done } = collector();
    composed.dispatch({ method: 'POST', path: '/x', headers: [], route } as Dispatcher.DispatchOptions, handler);
    expect(await done).toEqual({ status: 200, body: `ok from ${pods[1].port}` });
    expect(counts).toEqual({ fallback: 1, repick: 0, failures: ['status_5xx'] });
  });
});
