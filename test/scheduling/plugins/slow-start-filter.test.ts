/**
 * slow-start-filter: an endpoint that has not answered a first token carries at most `probes`
 * requests of this picker; the count of answers comes from the real latency observer fed through
 * the real request lifecycle.
 */
import { describe, expect, it } from 'vitest';
import { registerBuiltinPlugins } from '../../../src/builtin-plugins.js';
import { Lifecycle } from '../../../src/director/lifecycle.js';
import { ENDPOINT_LATENCY_OBSERVER, type EndpointLatencyObserver } from '../../../src/director/plugins/endpoint-latency-observer/index.js';
import type { Endpoint } from '../../../src/pool/endpoint.js';
import type { EndpointPool } from '../../../src/pool/pool.js';
import type { Filter } from '../../../src/scheduling/framework/plugin.js';
import { makePool, ManualClock } from '../../support/pool.js';
import { kept, plugin } from '../../support/plugin.js';

/** A request to `ep` routed through the real lifecycle, heard by `observer`; its response headers sent. */
function route(pool: EndpointPool, ep: Endpoint, observer: EndpointLatencyObserver, stream = true, status = 200): Lifecycle {
  const lc = new Lifecycle({
    requestId: `r-${pool.dispatched[ep.slot]}`,
    pool,
    telemetry: null,
    endpoint: ep,
    tokens: 10,
    prefillTokens: 100,
    incomingModel: 'm',
    targetModel: 'm',
    priority: 0,
    stream,
    requestBytes: 10,
    startedAt: pool.clock.now(),
    retry: false,
    onFinish: null,
    hooks: [observer],
  });
  lc.responseHeaders(status, stream ? 'text/event-stream' : 'application/json');
  return lc;
}

/** Sends one streamed request to `ep`; returns functions that deliver its first token or fail it. */
function send(pool: EndpointPool, ep: Endpoint, observer: EndpointLatencyObserver): { firstToken(): void; fail(): void } {
  const lc = route(pool, ep, observer);
  return {
    firstToken: () => void lc.responseBody(Buffer.from('data: {"choices":[{"text":"a"}]}\n\n'), false),
    fail: () => lc.finish('error', 'upstream_reset'),
  };
}

function setup(pods = 3): { pool: EndpointPool; clock: ManualClock; eps: readonly Endpoint[]; observer: EndpointLatencyObserver } {
  const clock = new ManualClock();
  const pool = makePool(Array.from({ length: pods }, () => ({})), clock);
  const observer = registerBuiltinPlugins().create(ENDPOINT_LATENCY_OBSERVER, 'obs', {}, { pool, rng: Math.random }) as EndpointLatencyObserver;
  return { pool, clock, eps: pool.endpoints(), observer };
}

describe('slow-start-filter', () => {
  it('leaves every endpoint while none has answered (no streamed first token anywhere)', () => {
    const { pool, eps, observer } = setup();
    send(pool, eps[0], observer);
    send(pool, eps[0], observer);
    send(pool, eps[1], observer);
    expect(kept(plugin<Filter>('slow-start-filter', pool), pool)).toEqual(['pod-0', 'pod-1', 'pod-2']);
  });

  it('once one has answered, an endpoint that has not carries at most one request until its first token', () => {
    const { pool, clock, eps, observer } = setup();
    const filter = plugin<Filter>('slow-start-filter', pool);
    const a = send(pool, eps[0], observer);
    const b = send(pool, eps[1], observer);
    clock.advance(200);
    a.firstToken();
    expect(pool.signal.answers[eps[0].slot]).toBe(1);
    // pod-1 has a request awaiting its first token: dropped; pod-2 has none: kept; pod-0 answered.
    expect(kept(filter, pool)).toEqual(['pod-0', 'pod-2']);
    // More load on the endpoint that answered does not drop it.
    send(pool, eps[0], observer);
    send(pool, eps[0], observer);
    expect(kept(filter, pool)).toEqual(['pod-0', 'pod-2']);
    clock.advance(900);
    b.firstToken();
    expect(kept(filter, pool)).toEqual(['pod-0', 'pod-1', 'pod-2']);
    // A probe that ended without a token (an error) frees the endpoint for the next probe.
    const c = send(pool, eps[2], observer);
    expect(kept(filter, pool)).toEqual(['pod-0', 'pod-1']);
    c.fail();
    expect(pool.signal.answers[eps[2].slot]).toBe(0);
    expect(kept(filter, pool)).toEqual(['pod-0', 'pod-1', 'pod-2']);
  });

  it('counts a plain answer, not an error: traffic that never streams does not stay capped', () => {
    const { pool, eps, observer } = setup();
    const filter = plugin<Filter>('slow-start-filter', pool);
    const plain = (ep: Endpoint, status: number) => route(pool, ep, observer, false, status);
    const ok = plain(eps[0], 200);
    ok.responseBody(Buffer.from('{"choices":[{"text":"a"}]}'), true);
    ok.finish('ok');
    expect(pool.signal.answers[eps[0].slot]).toBe(1);
    // No first-token time from a plain body.
    expect(pool.signal.ttft[eps[0].slot]).toBe(0);
    const bad = plain(eps[1], 503);
    bad.responseBody(Buffer.from('{"error":"busy"}'), true);
    bad.finish('ok');
    expect(pool.signal.answers[eps[1].slot]).toBe(0);
    plain(eps[1], 200);
    expect(kept(filter, pool)).toEqual(['pod-0', 'pod-2']);
  });

  it('takes `probes` requests per endpoint that has not answered', () => {
    const { pool, eps, observer } = setup();
    send(pool, eps[0], observer).firstToken();
    send(pool, eps[1], observer);
    const two = plugin<Filter>('slow-start-filter', pool, { probes: 2 });
    expect(kept(two, pool)).toEqual(['pod-0', 'pod-1', 'pod-2']);
    send(pool, eps[1], observer);
    expect(kept(two, pool)).toEqual(['pod-0', 'pod-2']);
    expect(() => plugin<Filter>('slow-start-filter', pool, { probes: 0 })).toThrow(/probes/);
    expect(() => plugin<Filter>('slow-start-filter', pool, { probes: 1.5 })).toThrow(/probes/);
  });

  it('an endpoint stays answered when its first-token estimate ages out; a new endpoint in a reused slot starts over', () => {
    const { pool, clock, eps, observer } = setup(2);
    const filter = plugin<Filter>('slow-start-filter', pool);
    send(pool, eps[0], observer).firstToken();
    send(pool, eps[1], observer).firstToken();
    clock.advance(60_000);
    observer.expire(eps[0].slot, clock.now());
    expect(pool.signal.ttft[eps[0].slot]).toBe(0);
    send(pool, eps[0], observer);
    send(pool, eps[0], observer);
    expect(kept(filter, pool)).toEqual(['pod-0', 'pod-1']);
    // pod-1 leaves; a new pod takes its slot and has answered nothing.
    const slot = eps[1].slot;
    const first = { name: eps[0].name, address: eps[0].address, port: eps[0].port };
    pool.setEndpoints([first]);
    pool.setEndpoints([first, { name: 'pod-new', address: '10.0.0.99', port: 8000 }]);
    const fresh = pool.endpoints().find((e) => e.name === 'pod-new')!;
    expect(fresh.slot).toBe(slot);
    expect(pool.signal.answers[slot]).toBe(0);
    send(pool, fresh, observer);
    expect(kept(filter, pool)).toEqual([eps[0].name]);
  });
});
