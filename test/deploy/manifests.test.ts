/**
 * deploy/ as users apply it: every YAML parses; every object has its kind's required fields;
 * the example custom resources validate against the CRDs' OpenAPI schemas and CEL rules (and
 * our own parsers read them); references between objects line up; the picker's Deployment runs
 * flags `switchboard serve` accepts with a config it can load.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultConfig } from '../../src/config/defaults.js';
import { parseConfig } from '../../src/config/load.js';
import { parseInferencePool, parseObjective, parseRewrite } from '../../src/discovery/kubernetes/resources.js';
import { EndpointPool } from '../../src/pool/pool.js';
import { Telemetry } from '../../src/telemetry/metrics.js';
import { at, CEL_RULES, CrdValidator, DEPLOY, isKubeObject, readDocs, ROOT, yamlFiles, type Doc } from '../support/deploy.js';
import {
  checkAuthClusterRole,
  checkMetricsReaderClusterRole,
  checkPickerConfig,
  checkRole,
  checkSwitchboardDeployment,
  checkSwitchboardService,
} from '../support/deploy-checks.js';

type Json = Record<string, unknown>;
const files = yamlFiles();
const docs: Doc[] = files.flatMap((f) => readDocs(f));
const objects = docs.filter((d) => isKubeObject(d.obj));
const crds = new CrdValidator();
const find = (kind: string, file?: string) => objects.filter((d) => d.obj.kind === kind && (file === undefined || d.file === file)).map((d) => d.obj);
const one = (kind: string, file: string) => {
  const l = find(kind, file);
  expect(l, `${kind} in ${file}`).toHaveLength(1);
  return l[0];
};

/** Fields every object of a kind must have. */
const REQUIRED: Record<string, string[]> = {
  Deployment: ['spec.selector.matchLabels', 'spec.template.metadata.labels', 'spec.template.spec.containers'],
  Service: ['spec.ports', 'spec.selector'],
  ServiceAccount: [],
  Role: ['rules'],
  RoleBinding: ['roleRef.name', 'subjects'],
  ClusterRole: ['rules'],
  ClusterRoleBinding: ['roleRef.name', 'subjects'],
  Secret: ['type'],
  DestinationRule: ['spec.host', 'spec.trafficPolicy'],
  ConfigMap: ['data'],
  CustomResourceDefinition: ['spec.group', 'spec.names.kind', 'spec.versions'],
  InferencePool: ['spec.selector', 'spec.targetPorts'],
  InferenceObjective: ['spec.poolRef.name'],
  InferenceModelRewrite: ['spec.poolRef.name', 'spec.rules'],
  Gateway: ['spec.gatewayClassName', 'spec.listeners'],
  GatewayClass: ['spec.controllerName'],
  HTTPRoute: ['spec.parentRefs', 'spec.rules'],
  HealthCheckPolicy: ['spec.targetRef.name', 'spec.default.config.type'],
  GCPBackendPolicy: ['spec.targetRef.name', 'spec.default'],
  BackendTrafficPolicy: ['spec.targetRefs'],
  PodMonitoring: ['spec.selector.matchLabels', 'spec.endpoints'],
  ServiceMonitor: ['spec.selector.matchLabels', 'spec.endpoints'],
  HorizontalPodAutoscaler: ['spec.scaleTargetRef.name', 'spec.minReplicas', 'spec.maxReplicas', 'spec.metrics'],
};

describe('deploy/ YAML', () => {
  it('parses every file, and every object has apiVersion, kind, name and its kind`s required fields', () => {
    expect(files.length).toBeGreaterThan(15);
    for (const d of objects) {
      const where = `${d.file}[${d.index}] ${String(d.obj.kind)}`;
      expect(at(d.obj, 'metadata.name'), where).toBeTypeOf('string');
      const req = REQUIRED[String(d.obj.kind)];
      expect(req, `${where}: unexpected kind`).toBeDefined();
      for (const p of req) expect(at(d.obj, p), `${where}: ${p}`).toBeDefined();
    }
  });

  it('has kustomizations whose resources exist', () => {
    for (const d of docs.filter((x) => x.obj.kind === 'Kustomization')) {
      const dir = join(DEPLOY, d.file, '..');
      for (const r of d.obj.resources as string[]) expect(existsSync(join(dir, r)), `${d.file}: ${r}`).toBe(true);
    }
  });
});

describe('CRDs', () => {
  it('define one served storage version with a structural schema, and only CEL rules we can check', () => {
    expect(crds.crds.map((c) => at(c, 'metadata.name')).sort()).toEqual([
      'inferencemodelrewrites.inference.networking.x-k8s.io',
      'inferenceobjectives.inference.networking.x-k8s.io',
      'inferencepools.inference.networking.k8s.io',
    ]);
    for (const c of crds.crds) {
      const versions = at(c, 'spec.versions') as Json[];
      expect(versions.filter((v) => v.storage === true)).toHaveLength(1);
      expect(at(versions[0], 'schema.openAPIV3Schema.type')).toBe('object');
      const rules = JSON.stringify(c).match(/"rule":"((?:[^"\\]|\\.)*)"/g) ?? [];
      for (const r of rules) expect(Object.keys(CEL_RULES)).toContain(JSON.parse(`{${r}}`).rule);
    }
  });

  it('accept the example InferencePool, objectives and rewrite, which our parsers also read', () => {
    const examples = objects.filter((d) => crds.knows(d.obj));
    // The single pool, and the multi-pool overlay's umbrella and two per-accelerator pools.
    expect(examples.map((d) => d.obj.kind).sort()).toEqual(['InferenceModelRewrite', 'InferenceObjective', 'InferenceObjective', ...Array(4).fill('InferencePool')]);
    for (const d of examples) expect(crds.errors(d.obj), `${d.file}[${d.index}]`).toEqual([]);
    const pool = one('InferencePool', 'manifests/inferencepool.yaml');
    expect(parseInferencePool(pool)).toEqual({ name: 'vllm-llama3-3b', selector: { app: 'vllm-llama3-3b' }, targetPorts: [8000], appProtocol: 'http' });
    // appProtocol exists only in InferencePool CRDs from GIE v1.4.0 on; http is its default.
    expect(at(pool, 'spec.appProtocol')).toBeUndefined();
    expect(at(pool, 'spec.endpointPickerRef.failureMode')).toBe('FailOpen');
    for (const o of find('InferenceObjective')) expect(parseObjective(o)).not.toBeNull();
    expect(parseRewrite(one('InferenceModelRewrite', 'manifests/objectives.yaml'))?.rules[0]).toEqual({
      models: ['sql-assistant'],
      targets: [
        { model: 'text2sql', weight: 90 },
        { model: 'meta-llama/Llama-3.2-3B-Instruct', weight: 10 },
      ],
    });
  });

  const pool = () => structuredClone(one('InferencePool', 'manifests/inferencepool.yaml')) as Json & { spec: Json };
  it.each([
    ['nine target ports', (p: Json & { spec: Json }) => (p.spec.targetPorts = Array.from({ length: 9 }, (_, i) => ({ number: 8000 + i }))), /must NOT have more than 8 items/],
    ['duplicate target ports', (p: Json & { spec: Json }) => (p.spec.targetPorts = [{ number: 8000 }, { number: 8000 }]), /port numbers must be unique/],
    ['no selector labels', (p: Json & { spec: Json }) => (p.spec.selector = { matchLabels: {} }), /fewer than 1 properties/],
    ['a bad failure mode', (p: Json & { spec: Json }) => ((p.spec.endpointPickerRef as Json).failureMode = 'Maybe'), /allowed values/],
    ['a Service picker without a port', (p: Json & { spec: Json }) => delete (p.spec.endpointPickerRef as Json).port, /port is required/],
    ['an unknown app protocol', (p: Json & { spec: Json }) => (p.spec.appProtocol = 'grpc'), /allowed values/],
    ['port 0', (p: Json & { spec: Json }) => (p.spec.targetPorts = [{ number: 0 }]), /must be >= 1/],
  ])('reject an InferencePool with %s', (_name, mutate, re) => {
    const p = pool();
    mutate(p);
    expect(crds.errors(p).join('\n')).toMatch(re);
  });

  it('validate rewrites as upstream v1.5.0 does: mixed weights pass the CRD (our parser reads a missing weight as 0), empty match values do not', () => {
    const rw = structuredClone(one('InferenceModelRewrite', 'manifests/objectives.yaml')) as Json;
    const rule = (at(rw, 'spec.rules') as Json[])[0];
    delete (rule.targets as Json[])[1].weight;
    expect(crds.errors(rw)).toEqual([]);
    expect(parseRewrite(rw)?.rules[0].targets[1]).toEqual({ model: 'meta-llama/Llama-3.2-3B-Instruct', weight: 0 });
    ((rule.matches as Json[])[0].model as Json).value = '';
    expect(crds.errors(rw).join('\n')).toMatch(/fewer than 1 characters/);
  });
});

describe('the Switchboard manifests', () => {
  const dep = one('Deployment', 'manifests/switchboard/deployment.yaml');
  const podLabels = at(dep, 'spec.template.metadata.labels') as Record<string, string>;

  it('run Switchboard with probes on the health port, non-root, read-only, with flags serve accepts', () => {
    const flags = checkSwitchboardDeployment(dep);
    expect(flags.values['pool-name']).toBe('vllm-llama3-3b');
    expect(flags.values['config-file']).toBe('/etc/switchboard/config.yaml');
    checkSwitchboardService(one('Service', 'manifests/switchboard/service.yaml'), podLabels);
  });

  it('mount a config that loads, in the base and in the active-active overlay', () => {
    const base = String((at(one('ConfigMap', 'manifests/switchboard/config.yaml'), 'data') as Json)['config.yaml']);
    checkPickerConfig(base, 'config.yaml');
    // The base is serve's built-in default, written out: it must not drift from it.
    expect({ ...parseConfig(base), source: '' }).toEqual({ ...defaultConfig(), source: '' });
    const overlay = readDocs('manifests/switchboard-active-active/kustomization.yaml')[0].obj;
    const patch = parseYaml(String((overlay.patches as Json[])[1].patch)) as Array<{ path: string; value: string }>;
    expect(patch[0].path).toBe('/data/config.yaml');
    checkPickerConfig(patch[0].value, 'active-active config');
    expect(patch[0].value).toContain('prefix-rendezvous-scorer');
    // The config the replicas benchmark measured is the one the overlay ships.
    expect(parseConfig(patch[0].value)).toEqual(parseConfig(readFileSync(join(ROOT, 'bench', 'configs', 'active-active.yaml'), 'utf8')));
  });

  it('ship a KV-events overlay: vLLM publishes where its annotations say, and the picker config uses the precise scorer', () => {
    const overlay = readDocs('manifests/kv-events/kustomization.yaml')[0].obj;
    const patch = parseYaml(String((overlay.patches as Json[])[1].patch)) as Array<{ path: string; value: string }>;
    checkPickerConfig(patch[0].value, 'kv-events config');
    const cfg = parseConfig(patch[0].value);
    const precise = cfg.plugins.find((p) => p.type === 'precise-prefix-cache-scorer');
    expect(precise).toBeDefined();
    const vllm = one('Deployment', 'manifests/kv-events/vllm-kv-events.yaml');
    const ann = at(vllm, 'spec.template.metadata.annotations') as Record<string, string>;
    const args = ((at(vllm, 'spec.template.spec.containers') as Json[])[0].args as string[]).join(' ');
    const events = JSON.parse(args.slice(args.indexOf('{'), args.lastIndexOf('}') + 1)) as Record<string, unknown>;
    expect(events).toMatchObject({ enable_kv_cache_events: true, publisher: 'zmq' });
    // vLLM binds only when the endpoint has a `*`; the annotations name the same ports.
    expect(events.endpoint).toBe(`tcp://*:${ann['switchboard.dev/kv-events-port']}`);
    expect(events.replay_endpoint).toBe(`tcp://*:${ann['switchboard.dev/kv-events-replay-port']}`);
    const disc = (precise!.parameters.kvEventsConfig as Json).podDiscoveryConfig as Json;
    expect([disc.socketPort, disc.replaySocketPort].map(String)).toEqual([ann['switchboard.dev/kv-events-port'], ann['switchboard.dev/kv-events-replay-port']]);
  });

  it('grant least privilege, with the Lease named as serve names it', () => {
    const role = one('Role', 'manifests/switchboard/rbac.yaml');
    checkRole(role);
    const lease = (role.rules as Json[]).find((r) => (r.resourceNames as string[] | undefined) !== undefined)!;
    expect(lease.resourceNames).toEqual([`switchboard-${String(checkSwitchboardDeployment(dep).values['pool-name'])}`]);
    const binding = one('RoleBinding', 'manifests/switchboard/rbac.yaml');
    expect(at(binding, 'roleRef.name')).toBe(role.metadata && (role.metadata as Json).name);
    expect((binding.subjects as Json[])[0].name).toBe(at(dep, 'spec.template.spec.serviceAccountName'));
  });

  it('name the picker Service from the InferencePool, and select the vLLM pods with the engine label', () => {
    const pool = one('InferencePool', 'manifests/inferencepool.yaml');
    expect(at(pool, 'spec.endpointPickerRef.name')).toBe(at(one('Service', 'manifests/switchboard/service.yaml'), 'metadata.name'));
    expect(at(pool, 'spec.endpointPickerRef.port.number')).toBe(9002);
    const vllm = one('Deployment', 'manifests/vllm.yaml');
    const labels = at(vllm, 'spec.template.metadata.labels') as Record<string, string>;
    for (const [k, v] of Object.entries(at(pool, 'spec.selector.matchLabels') as Record<string, string>)) expect(labels[k]).toBe(v);
    expect(labels['inference.networking.k8s.io/engine-type']).toBe('vllm');
    const c = (at(vllm, 'spec.template.spec.containers') as Json[])[0];
    expect((c.ports as Json[])[0].containerPort).toBe((at(pool, 'spec.targetPorts') as Json[])[0].number);
    expect(c.args).toContain('--enable-lora');
    expect(c.args).toContain('--lora-modules');
  });

  it('scrape the ports that exist', () => {
    for (const pm of find('PodMonitoring')) {
      const sel = at(pm, 'spec.selector.matchLabels') as Record<string, string>;
      const target = find('Deployment').find((d) => Object.entries(sel).every(([k, v]) => (at(d, 'spec.template.metadata.labels') as Json)[k] === v))!;
      expect(target, String(at(pm, 'metadata.name'))).toBeDefined();
      const names = (at(target, 'spec.template.spec.containers') as Json[]).flatMap((c) => (c.ports as Json[]).map((p) => p.name));
      for (const e of at(pm, 'spec.endpoints') as Json[]) expect(names).toContain(e.port);
    }
    const sm = one('ServiceMonitor', 'manifests/servicemonitor.yaml');
    const svcPorts = (at(one('Service', 'manifests/switchboard/service.yaml'), 'spec.ports') as Json[]).map((p) => p.name);
    for (const e of at(sm, 'spec.endpoints') as Json[]) expect(svcPorts).toContain(e.port);
  });
});

describe('gateways and autoscaling', () => {
  it.each(['gke/httproute.yaml', 'istio/gateway.yaml', 'envoy-gateway/gateway.yaml', 'kgateway/gateway.yaml'])('%s routes to the InferencePool through a Gateway it defines', (file) => {
    const route = find('HTTPRoute').find((r) => objects.some((d) => d.obj === r && d.file === file))!;
    const backend = (at(route, 'spec.rules') as Json[])[0].backendRefs as Json[];
    expect(backend).toEqual([{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'vllm-llama3-3b' }]);
    const parent = (at(route, 'spec.parentRefs') as Json[])[0];
    const dir = file.split('/')[0];
    const gw = objects.find((d) => d.file.startsWith(`${dir}/`) && d.obj.kind === 'Gateway' && at(d.obj, 'metadata.name') === parent.name);
    expect(gw, `Gateway ${String(parent.name)} in ${dir}/`).toBeDefined();
  });

  it('uses the internal GKE gateway class; health-check and backend policies on the pool bound the route, not a route timeout', () => {
    expect(at(one('Gateway', 'gke/gateway.yaml'), 'spec.gatewayClassName')).toBe('gke-l7-rilb');
    for (const kind of ['HealthCheckPolicy', 'GCPBackendPolicy'])
      expect(at(one(kind, `gke/${kind.toLowerCase()}.yaml`), 'spec.targetRef')).toEqual({ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'vllm-llama3-3b' });
    // The load balancer checks vLLM's /health on the pool's serving port.
    const port = (at(one('InferencePool', 'manifests/inferencepool.yaml'), 'spec.targetPorts') as Json[])[0].number;
    expect(at(one('HealthCheckPolicy', 'gke/healthcheckpolicy.yaml'), 'spec.default.config.httpHealthCheck')).toEqual({ requestPath: '/health', port });
    // On GKE the GCPBackendPolicy's timeout applies; upstream leaves the route timeout out there.
    expect(at(one('GCPBackendPolicy', 'gke/gcpbackendpolicy.yaml'), 'spec.default.timeoutSec')).toBe(300);
    expect((at(one('HTTPRoute', 'gke/httproute.yaml'), 'spec.rules') as Json[])[0].timeouts).toBeUndefined();
  });

  it('istio: a DestinationRule makes the gateway speak TLS, unverified, to the picker Service', () => {
    const dr = one('DestinationRule', 'istio/gateway.yaml');
    expect(at(dr, 'spec.host')).toBe(`${String(at(one('Service', 'manifests/switchboard/service.yaml'), 'metadata.name'))}.default.svc.cluster.local`);
    expect(at(dr, 'spec.trafficPolicy.tls')).toEqual({ mode: 'SIMPLE', insecureSkipVerify: true });
  });

  it('envoy: ext_proc and its gRPC health check reach the picker over TLS with ALPN h2', () => {
    const envoy = readDocs('envoy/envoy.yaml')[0].obj;
    const cluster = (at(envoy, 'static_resources.clusters') as Json[]).find((c) => c.name === 'switchboard')!;
    // Node's HTTP/2 TLS server refuses a handshake without ALPN h2; the health checker uses this socket.
    expect(at(cluster, 'transport_socket.typed_config.common_tls_context.alpn_protocols')).toEqual(['h2']);
    expect((cluster.health_checks as Json[])[0].grpc_health_check).toEqual({ service_name: 'envoy.service.ext_proc.v3.ExternalProcessor' });
  });

  it('envoy gateway: no stale FailOpen caveat', () => {
    expect(readFileSync(join(DEPLOY, 'envoy-gateway', 'gateway.yaml'), 'utf8')).not.toMatch(/6559|should be FailClose/);
  });

  it('scales the model servers on pool metrics Switchboard exports', async () => {
    const t = new Telemetry({ poolName: 'vllm-llama3-3b', pool: new EndpointPool(), stalenessMs: 2000, defaultMetrics: false });
    const exported = (await t.registry.getMetricsAsJSON()).map((m) => m.name);
    for (const file of ['autoscaling/hpa.yaml', 'autoscaling/hpa-gke.yaml']) {
      const hpa = one('HorizontalPodAutoscaler', file);
      expect(at(hpa, 'spec.scaleTargetRef.name')).toBe(at(one('Deployment', 'manifests/vllm.yaml'), 'metadata.name'));
      for (const m of at(hpa, 'spec.metrics') as Json[]) {
        const name = String(at(m, 'external.metric.name'));
        const metric = name.includes('|') ? name.split('|')[1] : name;
        expect(exported, file).toContain(metric);
      }
    }
    const adapter = readDocs('autoscaling/prometheus-adapter-values.yaml')[0].obj;
    const served = (at(adapter, 'rules.external') as Json[]).map((r) => at(r, 'name.as'));
    for (const m of at(one('HorizontalPodAutoscaler', 'autoscaling/hpa.yaml'), 'spec.metrics') as Json[]) expect(served).toContain(at(m, 'external.metric.name'));
  });

  it('documents every folder in deploy/README.md', () => {
    const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
    for (const dir of ['crds', 'manifests', 'gke', 'istio', 'envoy-gateway', 'kgateway', 'autoscaling', 'helm/switchboard']) expect(readme).toContain(`${dir}/`);
  });
});
