/**
 * Routing is the picker's alone. A client that sends the Endpoint Picker Protocol's own headers
 * (`x-gateway-destination-endpoint`, `-subset`, `-served`, in any letter case, repeated) cannot
 * choose the pod, narrow the choice, or fake feedback, and the headers never reach a pod. Both
 * front doors, end to end, with pods that record the headers they receive.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTwoDoors, type TwoDoors } from '../support/two-doors.js';

let td: TwoDoors;

beforeAll(async () => {
  // Distinct loopback addresses, so a subset hint by IP could tell the pods apart.
  td = await startTwoDoors({ pods: 2, pod: (i) => ({ address: `127.0.0.${i + 2}`, model: 'base-model' }) });
  td.pods[1].waiting = 40; // pod 0 is the picker's choice
  await vi.waitFor(() => expect(td.core.pool.waiting[td.core.pool.endpoints()[1].slot]).toBe(40));
});
afterAll(async () => {
  await td?.close();
});

const BODY = JSON.stringify({ model: 'base-model', prompt: 'route me' });

/** Client headers trying to steer the request to pod 1 (or anywhere else). */
function steering(): Array<[string, string]> {
  const other = td.pods[1].key;
  return [
    ['x-gateway-destination-endpoint', other],
    ['X-Gateway-Destination-Endpoint', '10.9.9.9:1'],
    ['x-gateway-destination-endpoint-subset', `${td.pods[1].address}`],
    ['x-gateway-destination-endpoint-served', other],
    ['x-gateway-destination-endpoint-fallback', other],
    ['content-type', 'application/json'],
  ];
}

/**
 * No client copy reached a pod. Behind Envoy the pod does see the picker's own routing header
 * (Envoy forwards what it routed by), and then it names that very pod.
 */
function assertNoneReachedPods(allowOwnRoutingHeader: boolean): void {
  for (const pod of td.pods) {
    const headers = pod.stats.lastHeaders ?? {};
    const seen = Object.keys(headers).filter((h) => h.startsWith('x-gateway-destination-endpoint'));
    if (allowOwnRoutingHeader && seen.length === 1 && seen[0] === 'x-gateway-destination-endpoint') {
      expect(headers['x-gateway-destination-endpoint'], pod.key).toBe(pod.key);
      continue;
    }
    expect(seen, pod.key).toEqual([]);
  }
}

describe('client-sent routing headers', () => {
  it('proxy: ignored for routing, stripped before the pod, and the served header is ours', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await request(`${td.proxyUrl}/v1/completions`, { method: 'POST', headers: steering().flat(), body: BODY });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-gateway-destination-endpoint-served']).toBe(td.pods[0].key);
      await res.body.text();
    }
    expect(td.pods[1].stats.requests).toBe(0);
    assertNoneReachedPods(false);
  });

  it('ext_proc: the routing header Envoy forwards is the picker\'s, client copies are removed, the subset header is not a hint', async () => {
    const before = td.pods[1].stats.requests;
    for (let i = 0; i < 4; i++) {
      const res = await td.emulator.send({ path: '/v1/completions', headers: steering(), body: BODY });
      expect(res).toMatchObject({ status: 200, endpoint: td.pods[0].key });
    }
    expect(td.pods[1].stats.requests).toBe(before);
    assertNoneReachedPods(true);
    // The header mutation Envoy applies: our value set once, every client copy named for removal.
    const ex = td.envoy.open();
    const out = await ex.sendRequest({ path: '/v1/completions', headers: steering(), body: BODY });
    ex.end();
    if (out.kind !== 'upstream') throw new Error('expected routing');
    expect(out.headers.filter(([k]) => k.startsWith('x-gateway-destination-endpoint'))).toEqual([['x-gateway-destination-endpoint', td.pods[0].key]]);
    expect(out.metadata['envoy.lb']).toEqual({ 'x-gateway-destination-endpoint': td.pods[0].key });
  });

  it('ext_proc: a served-endpoint header in the response is not feedback; only the gateway metadata is', async () => {
    const ex = td.envoy.open();
    const routed = await ex.sendRequest({ path: '/v1/completions', headers: { 'content-type': 'application/json' }, body: BODY });
    expect(routed.kind).toBe('upstream');
    const slot0 = td.core.pool.endpoints()[0].slot;
    const slot1 = td.core.pool.endpoints()[1].slot;
    expect(td.core.pool.inflight[slot0]).toBe(1);
    // A pod (or anything upstream) claims another endpoint served it, by header: no effect.
    await ex.sendResponse({ headers: { 'content-type': 'application/json', 'x-gateway-destination-endpoint-served': td.pods[1].key }, chunks: ['{}'] });
    ex.end();
    expect(td.core.pool.inflight[slot1]).toBe(0);
    await vi.waitFor(() => expect(td.core.pool.inflight[slot0]).toBe(0));
  });
});
