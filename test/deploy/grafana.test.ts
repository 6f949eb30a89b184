/**
 * deploy/grafana/: every dashboard is well-formed Grafana JSON, the provisioning files point at
 * them, and every metric a query names is one something really exports. Switchboard's dashboards
 * are checked against the /metrics page of a running `switchboard serve` with every part that
 * registers series turned on (Kubernetes discovery against a fake API server, leader election,
 * ext_proc, the proxy, flow control, metrics auth, the dashboard) and a simulated vLLM pod behind it; the
 * model-server dashboard against that pod's page and the real vLLM pages in test/fixtures/metrics.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseFlags } from '../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { startServe, stopAll, type Started } from '../../src/cli/serve.js';
import { parseConfig } from '../../src/config/load.js';
import { startSimFleet, type SimFleet } from '../../src/sim/pod/fleet.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { DEPLOY } from '../support/deploy.js';
import { FakeApiServer, podObject } from '../support/fake-apiserver.js';
import { writeKubeconfig } from '../support/kube.js';
import { FIXTURES_DIR } from '../support/fixtures.js';

const GRAFANA = join(DEPLOY, 'grafana');
const DASHBOARDS = join(GRAFANA, 'dashboards');
const POOLS = '/apis/inference.networking.k8s.io/v1/namespaces/serving/inferencepools';
const PODS = '/api/v1/namespaces/serving/pods';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/serving/leases';

type Json = Record<string, unknown>;
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { uid?: string };
  targets?: Array<{ expr: string; refId: string }>;
}

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/** Metric names a PromQL expression reads: identifiers that are not functions, keywords, labels or variables. */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+\S+/g, ' ')
    .replace(/\$\w+/g, ' ');
  const out = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = s.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(rest) || PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    out.add(m[0]);
  }
  return [...out];
}

/** Every series name a Prometheus text page can answer: samples, plus the suffixes of TYPE-declared families. */
function exportedNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)/.exec(line);
    if (type !== null) {
      const [, name, kind] = type;
      out.add(name);
      if (kind === 'histogram' || kind === 'summary') for (const s of ['_bucket', '_sum', '_count']) out.add(name + s);
      if (kind === 'counter' && !name.endsWith('_total')) out.add(`${name}_total`);
    } else if (line !== '' && !line.startsWith('#')) out.add(line.split(/[{ ]/)[0]);
  }
  return out;
}

const dashboards = readdirSync(DASHBOARDS)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(DASHBOARDS, f), 'utf8')) as Json }));
const panelsOf = (d: Json) => (d.panels as Panel[]).filter((p) => p.type !== 'row');
const exprsOf = (d: Json) => panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

describe('PromQL metric-name extraction', () => {
  it.each([
    { expr: 'inference_pool_average_queue_size{name=~"$pool"}', names: ['inference_pool_average_queue_size'] },
    { expr: 'histogram_quantile(0.9, sum by (le, model_name) (rate(x_seconds_bucket{a="b(c)"}[$__rate_interval])))', names: ['x_seconds_bucket'] },
    { expr: 'sum(rate(vllm:prefix_cache_hits_total[5m])) / sum(rate(vllm:prefix_cache_queries_total[5m]))', names: ['vllm:prefix_cache_hits_total', 'vllm:prefix_cache_queries_total'] },
    { expr: 'topk(10, sum without (pod) (a)) or on (name) b offset 5m', names: ['a', 'b'] },
  ])('$expr', ({ expr, names }) => {
    expect(metricNames(expr)).toEqual(names);
  });
});

describe('Grafana dashboards', () => {
  it('are Grafana dashboards: unique uids, a datasource variable, panels on the 24-column grid with unique ids and queries', () => {
    expect(dashboards.map((d) => d.file)).toEqual([
      'switchboard-flow-control.json',
      'switchboard-front-doors.json',
      'switchboard-kubernetes.json',
      'switchboard-pool.json',
      'switchboard-vllm.json',
    ]);
    expect(new Set(dashboards.map((d) => d.json.uid)).size).toBe(dashboards.length);
    for (const { file, json } of dashboards) {
      expect(json.uid, file).toBe(file.replace(/\.json$/, ''));
      expect(json.title, file).toBeTypeOf('string');
      expect(json.schemaVersion, file).toBeGreaterThanOrEqual(36);
      const vars = (json.templating as { list: Array<{ name: string; type: string }> }).list;
      expect(vars.find((v) => v.name === 'datasource')?.type, file).toBe('datasource');
      const all = json.panels as Panel[];
      expect(new Set(all.map((p) => p.id)).size, file).toBe(all.length);
      for (const p of all) {
        expect(p.gridPos.x + p.gridPos.w, `${file}: ${p.title}`).toBeLessThanOrEqual(24);
        if (p.type === 'row') continue;
        expect(p.datasource?.uid, `${file}: ${p.title}`).toBe('${datasource}');
        expect(p.targets?.length, `${file}: ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets ?? []) expect(metricNames(t.expr).length, `${file}: ${p.title}: ${t.expr}`).toBeGreaterThan(0);
      }
      // Every query variable's metric is one the dashboard itself reads.
      const read = new Set(exprsOf(json).flatMap((e) => metricNames(e.expr)));
      for (const v of vars.filter((x) => x.type === 'query')) {
        const q = /label_values\(([^,]+),/.exec(String((v as { definition?: string }).definition))?.[1];
        expect(q !== undefined && read.has(q), `${file}: variable ${v.name} reads ${q}`).toBe(true);
      }
    }
  });

  it('are provisioned from the folder they live in, with a Prometheus data source', () => {
    const providers = parseYaml(readFileSync(join(GRAFANA, 'provisioning/dashboards/switchboard.yaml'), 'utf8')) as Json;
    expect(providers.apiVersion).toBe(1);
    const p = (providers.providers as Json[])[0];
    expect(p).toMatchObject({ type: 'file', folder: 'Switchboard' });
    expect((p.options as Json).path).toBe('/var/lib/grafana/dashboards/switchboard');
    const sources = parseYaml(readFileSync(join(GRAFANA, 'provisioning/datasources/prometheus.yaml'), 'utf8')) as Json;
    expect(sources.apiVersion).toBe(1);
    expect((sources.datasources as Json[])[0]).toMatchObject({ type: 'prometheus', access: 'proxy' });
    // The compose file mounts the dashboards where the provider looks.
    const compose = parseYaml(readFileSync(join(GRAFANA, 'docker-compose.yaml'), 'utf8')) as { services: Record<string, { volumes?: string[] }> };
    expect(compose.services.grafana.volumes).toContain('./dashboards:/var/lib/grafana/dashboards/switchboard:ro');
  });
});

describe('every query names a metric that is exported', () => {
  const logger = createLogger('silent');
  let fleet: SimFleet;
  let api: FakeApiServer;
  let started: Started;
  let dir: string;
  let switchboardText = '';
  let simText = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-grafana-'));
    fleet = await startSimFleet({ pods: 1, loraModules: [{ name: 'sql-lora' }] });
    api = await new FakeApiServer().start();
    api.serve(POOLS, 'InferencePoolList', 'inference.networking.k8s.io/v1').serve(PODS, 'PodList', 'v1').serve(LEASES, 'LeaseList', 'coordination.k8s.io/v1');
    api.put(POOLS, { metadata: { name: 'llm' }, spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [{ number: fleet.pods[0].port }] } });
    api.put(PODS, podObject('vllm-0', { ip: '127.0.0.1' }));
    writeFileSync(join(dir, 'token'), 'grafana-test-token');
    const kubeconfig = writeKubeconfig(join(dir, 'kubeconfig'), api.url);
    const flags = parseFlags(SERVE_FLAGS, [
      '--pool-name=llm',
      '--pool-namespace=serving',
      `--kubeconfig=${kubeconfig}`,
      '--ha-enable-leader-election',
      '--ha-lease-duration=3s',
      '--ha-renew-deadline=2s',
      '--ha-retry-period=100ms',
      // Auth on (a static token), so its refusal counter is registered too.
      '--metrics-endpoint-auth',
      `--metrics-token-file=${join(dir, 'token')}`,
      '--metrics-port=0',
      '--grpc-port=0',
      '--grpc-health-port=0',
      '--secure-serving=false',
      '--proxy-port=0',
      '--bind-address=127.0.0.1',
      '--refresh-metrics-interval=20ms',
      '--enable-dashboard',
    ]);
    const config = parseConfig('featureGates: [flowControl]\nflowControl: {}\n', 'test');
    started = await startServe(flags, config, logger);
    await vi.waitFor(() => expect(started.core.pool.endpoints().every((e) => e.health.ok) && started.core.pool.size === 1).toBe(true), { timeout: 10_000 });
    // One real request through the proxy, so per-request series carry samples too.
    const res = await fetch(`${started.proxyUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: fleet.modelName, prompt: 'hello grafana', max_tokens: 4, stream: true, stream_options: { include_usage: true } }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const scrape = await fetch(`http://127.0.0.1:${started.metricsPort}/metrics`, { headers: { authorization: 'Bearer grafana-test-token' } });
    expect(scrape.status).toBe(200);
    switchboardText = await scrape.text();
    simText = await (await fetch(`${fleet.pods[0].url}/metrics`)).text();
  }, 60_000);

  afterAll(async () => {
    if (started !== undefined) await stopAll(started.closables, logger);
    await api?.close();
    await fleet?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("Switchboard's dashboards read only series a running Switchboard exports", () => {
    const exported = exportedNames(switchboardText);
    expect(exported.has('leader_election_master_status')).toBe(true);
    for (const { file, json } of dashboards.filter((d) => d.file !== 'switchboard-vllm.json')) {
      const missing = exprsOf(json).flatMap((e) => metricNames(e.expr).filter((n) => !exported.has(n)).map((n) => `${e.panel}: ${n}`));
      expect(missing, file).toEqual([]);
    }
  });

  it('the model-server dashboard reads only series vLLM or the simulator exports, and each source covers part of it', () => {
    const sim = exportedNames(simText);
    const vllm = new Set<string>();
    for (const f of readdirSync(FIXTURES_DIR).filter((x) => x.startsWith('vllm_') && x.endsWith('.prom'))) {
      for (const n of exportedNames(readFileSync(join(FIXTURES_DIR, f), 'utf8'))) vllm.add(n);
    }
    const json = dashboards.find((d) => d.file === 'switchboard-vllm.json')!.json;
    const names = [...new Set(exprsOf(json).flatMap((e) => metricNames(e.expr)))];
    expect(names.filter((n) => !sim.has(n) && !vllm.has(n))).toEqual([]);
    // The simulator imitates the V1 names the panels lead with; the V0 fallbacks come from real pages.
    for (const n of ['vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:time_to_first_token_seconds_bucket', 'vllm:inter_token_latency_seconds_bucket', 'vllm:prefix_cache_hits_total']) {
      expect(sim.has(n), n).toBe(true);
    }
    for (const n of ['vllm:gpu_cache_usage_perc', 'vllm:time_per_output_token_seconds_bucket', 'vllm:e2e_request_latency_seconds_bucket']) expect(vllm.has(n), n).toBe(true);
  });
});
