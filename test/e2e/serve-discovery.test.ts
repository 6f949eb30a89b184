/**
 * `switchboard serve` with Kubernetes discovery and leader election, as a user starts it
 * (`--pool-name`, `--kubeconfig`, `--ha-enable-leader-election`), against the fake API server;
 * pods are real metrics servers on loopback. Also the endpoints file and the flag rules.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseFlags } from '../../src/cli/flags.js';
import { selectorMode } from '../../src/cli/serve-discovery.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { startServe, stopAll, type Closable } from '../../src/cli/serve.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { healthServiceDefinition, ServingStatus, type HealthCheckRequest, type HealthCheckResponse } from '../../src/frontends/health/health-codec.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { FakeApiServer, podObject } from '../support/fake-apiserver.js';
import { writeKubeconfig } from '../support/kube.js';
import { MetricsServer, vllmPage } from '../support/metrics-server.js';
import { routeCompletion } from '../support/requests.js';

const POOLS = '/apis/inference.networking.k8s.io/v1/namespaces/serving/inferencepools';
const PODS = '/api/v1/namespaces/serving/pods';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/serving/leases';
const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sb-serve-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function serve(args: string[]) {
  const logger = createLogger('silent');
  const base = ['--metrics-port=0', '--grpc-port=0', '--grpc-health-port=0', '--secure-serving=false', '--bind-address=127.0.0.1', '--refresh-metrics-interval=10ms'];
  const started = await startServe(parseFlags(SERVE_FLAGS, [...base, ...args]), defaultConfig(), logger);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopAll(started.closables as Closable[], logger);
  };
  cleanup.push(stop);
  return { ...started, stop };
}

/** Readiness as the gateway and kubelet see it: gRPC health `readiness` on the ext_proc port. */
function readinessOf(port: number): Promise<number> {
  const c = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  const def = healthServiceDefinition.Check;
  return new Promise<number>((resolve, reject) => {
    c.makeUnaryRequest<HealthCheckRequest, HealthCheckResponse>(def.path, def.requestSerialize, def.responseDeserialize, { service: 'readiness' }, (err, res) => {
      c.close();
      if (err) reject(err);
      else resolve(res!.status ?? ServingStatus.UNKNOWN);
    });
  });
}

function kubeconfigFor(api: FakeApiServer): string {
  return writeKubeconfig(join(tempDir(), 'kubeconfig'), api.url);
}

describe('serve with Kubernetes discovery', () => {
  it('discovers the InferencePool pods, scrapes them, routes, leads, and exports discovery metrics', async () => {
    const pods = await Promise.all([new MetricsServer().start(), new MetricsServer().start()]);
    for (const p of pods) cleanup.push(() => p.close());
    pods[0].page = vllmPage({ waiting: 7, kv: 0.8 });
    pods[1].page = vllmPage({ waiting: 0, kv: 0.1 });
    const api = await new FakeApiServer().start();
    cleanup.push(() => api.close());
    api.serve(POOLS, 'InferencePoolList', 'inference.networking.k8s.io/v1').serve(PODS, 'PodList', 'v1').serve(LEASES, 'LeaseList', 'coordination.k8s.io/v1');
    // One pod, two ranks: each target port is its own endpoint (both on loopback here).
    api.put(POOLS, { metadata: { name: 'llm' }, spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: pods.map((p) => ({ number: p.port })) } });
    api.put(PODS, podObject('vllm-0', { ip: '127.0.0.1' }));
    const kubeconfig = kubeconfigFor(api);

    const { core, metricsPort, leadership } = await serve([
      '--pool-name=llm',
      '--pool-namespace=serving',
      `--kubeconfig=${kubeconfig}`,
      '--ha-enable-leader-election',
      '--ha-lease-duration=3s',
      '--ha-renew-deadline=2s',
      '--ha-retry-period=100ms',
      // Auth is on by default with InferencePool discovery; test/security/metrics-auth.test.ts covers it.
      '--metrics-endpoint-auth=false',
    ]);
    await vi.waitFor(() => expect(core.pool.synced).toBe(true));
    expect(core.pool.endpoints().map((e) => e.name).sort()).toEqual(['vllm-0-rank-0', 'vllm-0-rank-1']);
    await vi.waitFor(() => expect(leadership.isLeader()).toBe(true));
    expect((api.get(LEASES, 'switchboard-llm')?.spec as { holderIdentity?: string }).holderIdentity).toBeTruthy();
    await vi.waitFor(() => expect(core.pool.endpoints().every((e) => e.health.ok)).toBe(true));

    const d = await routeCompletion(core);
    expect(d.destination).toBe(`127.0.0.1:${pods[1].port}`);
    d.lifecycle.finish('ok');

    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(/switchboard_discovery_events_total\{resource="pods",event="list"\} 1/);
    expect(text).toContain('leader_election_master_status{name="switchboard-llm"} 1');
    expect(api.requests.every((r) => r.authorization === 'Bearer secret')).toBe(true);

    // A pod going away leaves the pool through the watch.
    api.remove(PODS, 'vllm-0');
    await vi.waitFor(() => expect(core.pool.size).toBe(0));
  });

  it('reports readiness SERVING on the leader only, and hands over when it stops', async () => {
    const api = await new FakeApiServer().start();
    cleanup.push(() => api.close());
    api.serve(POOLS, 'InferencePoolList', 'inference.networking.k8s.io/v1').serve(PODS, 'PodList', 'v1').serve(LEASES, 'LeaseList', 'coordination.k8s.io/v1');
    api.put(POOLS, { metadata: { name: 'llm' }, spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [{ number: 8000 }] } });
    api.put(PODS, podObject('vllm-0', { ip: '10.1.0.1' }));
    const args = ['--pool-name=llm', '--pool-namespace=serving', `--kubeconfig=${kubeconfigFor(api)}`, '--ha-enable-leader-election', '--ha-lease-duration=3s', '--ha-renew-deadline=2s', '--ha-retry-period=100ms'];
    const a = await serve(args);
    await vi.waitFor(() => expect(a.leadership.isLeader()).toBe(true));
    const b = await serve(args);
    await vi.waitFor(() => expect(b.core.pool.synced).toBe(true));
    // Both are synced; only the leader is ready.
    expect(await readinessOf(a.grpcPort!)).toBe(ServingStatus.SERVING);
    expect(await readinessOf(b.grpcPort!)).toBe(ServingStatus.NOT_SERVING);
    await a.stop();
    await vi.waitFor(() => expect(b.leadership.isLeader()).toBe(true), { timeout: 5000 });
    expect(await readinessOf(b.grpcPort!)).toBe(ServingStatus.SERVING);
  });

  it('is not ready until the pool has synced', async () => {
    const api = await new FakeApiServer().start();
    cleanup.push(() => api.close());
    api.serve(POOLS, 'InferencePoolList', 'inference.networking.k8s.io/v1').serve(PODS, 'PodList', 'v1');
    const s = await serve(['--pool-name=llm', '--pool-namespace=serving', `--kubeconfig=${kubeconfigFor(api)}`]);
    expect(await readinessOf(s.grpcPort!)).toBe(ServingStatus.NOT_SERVING);
    api.put(POOLS, { metadata: { name: 'llm' }, spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [{ number: 8000 }] } });
    await vi.waitFor(() => expect(s.core.pool.synced).toBe(true));
    expect(await readinessOf(s.grpcPort!)).toBe(ServingStatus.SERVING);
  });

  it('reads an endpoints file', async () => {
    const pod = await new MetricsServer().start();
    cleanup.push(() => pod.close());
    const dir = tempDir();
    const file = join(dir, 'endpoints.yaml');
    writeFileSync(file, `endpoints:\n- 127.0.0.1:${pod.port}\n`);
    const { core } = await serve([`--endpoints-file=${file}`, '--pool-name=local']);
    expect(core.pool.synced).toBe(true);
    expect(core.pool.endpoints().map((e) => e.key)).toEqual([`127.0.0.1:${pod.port}`]);
  });

  it('keeps static endpoints static when --pool-name only names the pool', async () => {
    const { core } = await serve(['--endpoints=127.0.0.1:1', '--pool-name=named']);
    expect(core.pool.synced).toBe(true);
    expect(core.pool.size).toBe(1);
    const demo = await serve(['--demo', '--demo-pods=1', '--pool-name=named', '--proxy-port=0']);
    expect(demo.core.pool.synced).toBe(true);
    expect(demo.core.pool.size).toBe(1);
  });

  it.each([
    [['--endpoints=127.0.0.1:1', '--endpoints-file=/x'], /choose one endpoint source/],
    [['--endpoint-target-ports=8000'], /needs --endpoint-selector/],
    [['--endpoint-selector=app=vllm'], /needs at least one port/],
    [['--pool-name=llm', '--pool-group=example.com', '--kubeconfig=/nonexistent'], /pool-group/],
    [['--pool-name=llm', '--kubeconfig=/nonexistent/kubeconfig'], /none of \/nonexistent\/kubeconfig exists/],
  ])('rejects %j', async (args, re) => {
    await expect(serve(args)).rejects.toThrow(re);
  });

  it('parses the standalone selector flags', () => {
    expect(selectorMode('app=vllm, tier==gpu', '8000,8001')).toEqual({ kind: 'selector', selector: { app: 'vllm', tier: 'gpu' }, targetPorts: [8000, 8001] });
    expect(() => selectorMode('app', '8000')).toThrow(/key=value/);
    expect(() => selectorMode('app=x', '1,2,3,4,5,6,7,8,9')).toThrow(/1 to 8 distinct/);
    expect(() => selectorMode('app=x', '8000,8000')).toThrow(/distinct/);
  });
});
