/**
 * Active-passive leader election against the fake API server: one leader at a time, takeover
 * when the leader can no longer renew, fast handover on release, races settled by the server.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KubeClient } from '../../src/discovery/kubernetes/client.js';
import { LeaseElector, microTime } from '../../src/ha/lease-elector.js';
import { ALWAYS_LEADER, readiness } from '../../src/ha/leadership.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { testConnection } from '../support/kube.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
const TIMING = { leaseDurationMs: 600, renewDeadlineMs: 300, retryPeriodMs: 40 };
const silent = { debug() {}, info() {}, warn() {} };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function cluster(n: number) {
  const api = await new FakeApiServer().start();
  api.serve(LEASES, 'LeaseList', 'coordination.k8s.io/v1');
  const client = new KubeClient(testConnection(api.url));
  const electors = Array.from(
    { length: n },
    (_, i) => new LeaseElector({ client, namespace: 'default', name: 'switchboard-llm', identity: `replica-${i}`, logger: silent, ...TIMING }),
  );
  // Watch for two leaders at once, every few ms, for the whole test.
  const overlaps: string[] = [];
  const probe = setInterval(() => {
    const leaders = electors.filter((e) => e.isLeader()).map((e) => e.identity);
    if (leaders.length > 1) overlaps.push(leaders.join(','));
  }, 3);
  cleanup.push(async () => {
    clearInterval(probe);
    await Promise.all(electors.map((e) => e.stop()));
    await client.close();
    await api.close();
  });
  return { api, electors, overlaps };
}

const holder = (api: FakeApiServer) => (api.get(LEASES, 'switchboard-llm')?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

describe('lease leader election', () => {
  it('creates the lease and leads; reports changes to subscribers', async () => {
    const { api, electors } = await cluster(1);
    const seen: boolean[] = [];
    electors[0].subscribe((l) => seen.push(l));
    electors[0].start();
    await vi.waitFor(() => expect(electors[0].isLeader()).toBe(true));
    const lease = api.get(LEASES, 'switchboard-llm')!;
    expect(lease.spec).toMatchObject({ holderIdentity: 'replica-0', leaseDurationSeconds: 1, leaseTransitions: 0 });
    expect((lease.spec as { renewTime: string }).renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await electors[0].stop();
    expect(seen).toEqual([true, false]);
  });

  it('has one leader among racing candidates, settled by the server', async () => {
    const { api, electors, overlaps } = await cluster(3);
    for (const e of electors) e.start();
    await vi.waitFor(() => expect(electors.filter((e) => e.isLeader())).toHaveLength(1));
    // Several renewals later there is still exactly one, and it is the lease's holder.
    const leader = electors.find((e) => e.isLeader())!;
    const rv = Number(api.get(LEASES, 'switchboard-llm')!.metadata.resourceVersion);
    await vi.waitFor(() => expect(Number(api.get(LEASES, 'switchboard-llm')!.metadata.resourceVersion)).toBeGreaterThan(rv + 3));
    expect(electors.filter((e) => e.isLeader())).toEqual([leader]);
    expect(holder(api)).toBe(leader.identity);
    expect(overlaps).toEqual([]);
  });

  it('fails over when the leader cannot renew: it steps down before a standby takes over', async () => {
    const { api, electors, overlaps } = await cluster(2);
    electors[0].start();
    await vi.waitFor(() => expect(electors[0].isLeader()).toBe(true));
    electors[1].start();
    await vi.waitFor(() => expect(api.requests.some((r) => r.method === 'GET' && r.path.endsWith('switchboard-llm'))).toBe(true));
    // The leader's writes now fail (a partition between it and the API server).
    api.failures.push({ match: (r) => r.method === 'PUT' && (r.body as { spec?: { holderIdentity?: string } })?.spec?.holderIdentity === 'replica-0', status: 500, times: 1e9 });
    await vi.waitFor(() => expect(electors[1].isLeader()).toBe(true), { timeout: 5000 });
    expect(electors[0].isLeader()).toBe(false);
    expect(holder(api)).toBe('replica-1');
    expect((api.get(LEASES, 'switchboard-llm')!.spec as { leaseTransitions: number }).leaseTransitions).toBe(1);
    expect(overlaps).toEqual([]);
  });

  it('steps down at once when it sees another holder', async () => {
    const { api, electors } = await cluster(1);
    electors[0].start();
    await vi.waitFor(() => expect(electors[0].isLeader()).toBe(true));
    const lease = api.get(LEASES, 'switchboard-llm')!;
    api.put(LEASES, { ...lease, spec: { ...(lease.spec as object), holderIdentity: 'intruder', renewTime: microTime(new Date()) } });
    await vi.waitFor(() => expect(electors[0].isLeader()).toBe(false));
  });

  it('releases the lease on shutdown so a standby takes over without waiting it out', async () => {
    const { api, electors, overlaps } = await cluster(2);
    electors[0].start();
    await vi.waitFor(() => expect(electors[0].isLeader()).toBe(true));
    electors[1].start();
    await vi.waitFor(() => expect(api.requests.filter((r) => r.method === 'GET').length).toBeGreaterThan(3));
    await electors[0].stop();
    expect(holder(api)).toBeUndefined();
    const released = api.requests.length;
    await vi.waitFor(() => expect(electors[1].isLeader()).toBe(true));
    // The standby took a free lease: one acquisition (later PUTs are renewals keeping its
    // acquireTime), after a read or two, not after watching the old record for a lease duration
    // (600 ms at one read per 40 ms).
    type Put = { spec?: { holderIdentity?: string; acquireTime?: string } };
    const mine = api.requests.filter((r) => r.method === 'PUT' && (r.body as Put).spec?.holderIdentity === 'replica-1');
    expect(new Set(mine.map((r) => (r.body as Put).spec?.acquireTime)).size).toBe(1);
    const first = api.requests.indexOf(mine[0]);
    expect(api.requests.slice(released, first).filter((r) => r.method === 'GET').length).toBeLessThanOrEqual(3);
    expect(overlaps).toEqual([]);
  });

  it('rejects timings that would allow two leaders', async () => {
    const api = await new FakeApiServer().start();
    const client = new KubeClient(testConnection(api.url));
    cleanup.push(async () => {
      await client.close();
      await api.close();
    });
    expect(
      () => new LeaseElector({ client, namespace: 'default', name: 'x', logger: silent, leaseDurationMs: 1000, renewDeadlineMs: 1000, retryPeriodMs: 100 }),
    ).toThrow(/lease duration > renew deadline > retry period/);
  });

  it('readiness is synced and leading', () => {
    let leader = false;
    const l = { isLeader: () => leader, subscribe: () => () => {} };
    const pool = { synced: false };
    const r = readiness(pool, l);
    expect(r.ready()).toBe(false);
    pool.synced = true;
    expect(r.ready()).toBe(false);
    leader = true;
    expect(r.ready()).toBe(true);
    expect(readiness(pool, ALWAYS_LEADER).ready()).toBe(true);
  });
});
