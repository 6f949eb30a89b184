/** Graceful shutdown: readiness drops, new streams are refused, open exchanges finish. */
import { afterEach, describe, expect, it } from 'vitest';
import { ServingStatus } from '../../src/frontends/health/health-codec.js';
import { EnvoyExtProcClient } from '../support/envoy-client.js';
import { startHarness, upstreamOf, type Harness } from '../support/extproc-harness.js';
import { routeAll } from '../support/scripted-director.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const BODY = '{"model":"m","prompt":"hi"}';

describe('drain', () => {
  it('lets an open exchange finish while refusing new ones', async () => {
    const director = routeAll('10.0.0.1:8000');
    h = await startHarness(director);
    const open = h.envoy.open();
    upstreamOf(await open.sendRequest({ body: BODY }));

    let drained = false;
    const draining = h.server.drain(10_000).then(() => (drained = true));
    expect(h.server.health.status('readiness')).toBe(ServingStatus.NOT_SERVING);
    expect(h.server.health.status('liveness')).toBe(ServingStatus.SERVING);

    const late = new EnvoyExtProcClient({ address: `127.0.0.1:${h.server.port}`, waitLimitMs: 5000 });
    expect(await late.request({ body: BODY })).toMatchObject({ kind: 'local-reply', status: 500, grpcCode: 14 });
    late.close();
    expect(drained).toBe(false);

    const res = await open.sendResponse({ headers: { 'content-type': 'text/event-stream' }, chunks: ['data: [DONE]\n\n'] });
    expect(res.kind).toBe('downstream');
    open.end();
    await draining;
    expect(director.lifecycles[0].calls('finish')).toEqual([{ call: 'finish', outcome: 'ok' }]);
  });
});
