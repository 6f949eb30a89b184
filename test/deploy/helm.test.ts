/**
 * The Helm chart, rendered without helm (test/support/helm-template.ts implements the template
 * subset the chart uses) for the main value combinations: every object is valid YAML with its
 * required fields, the picker Deployment passes the same checks as deploy/manifests, the
 * InferencePool validates against the CRD, and every value is documented.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultConfig } from '../../src/config/defaults.js';
import { parseConfig } from '../../src/config/load.js';
import { at, CrdValidator, DEPLOY, readDocs, ROOT } from '../support/deploy.js';
import { checkPickerConfig, checkRole, checkSwitchboardDeployment, checkSwitchboardService } from '../support/deploy-checks.js';
import { HelmRenderer } from '../support/helm-template.js';

type Json = Record<string, unknown>;
const CHART = join(DEPLOY, 'helm', 'switchboard');
const crds = new CrdValidator();
const render = (values: Json = {}) => new HelmRenderer().objects(CHART, values);
const kinds = (objs: Json[]) => objs.map((o) => String(o.kind)).sort();
const get = (objs: Json[], kind: string) => {
  const l = objs.filter((o) => o.kind === kind);
  expect(l, kind).toHaveLength(1);
  return l[0];
};

describe('helm chart', () => {
  it('renders the picker, its RBAC, config, Service and InferencePool by default', () => {
    const objs = render();
    expect(kinds(objs)).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'InferencePool', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
    for (const o of objs) expect(at(o, 'metadata.name'), String(o.kind)).toBeTypeOf('string');
    const dep = get(objs, 'Deployment');
    const flags = checkSwitchboardDeployment(dep);
    expect(flags.values['pool-name']).toBe('vllm-llama3-3b');
    expect(flags.given.has('ha-enable-leader-election')).toBe(false);
    checkSwitchboardService(get(objs, 'Service'), at(dep, 'spec.template.metadata.labels') as Record<string, string>);
    checkRole(get(objs, 'Role'));
    expect((get(objs, 'Role').rules as Json[]).some((r) => (r.apiGroups as string[]).includes('coordination.k8s.io'))).toBe(false);
    const cfg = String((get(objs, 'ConfigMap').data as Json)['config.yaml']);
    checkPickerConfig(cfg, 'chart config');
    expect({ ...parseConfig(cfg), source: '' }).toEqual({ ...defaultConfig(), source: '' });
    expect(cfg).not.toContain('prefix-rendezvous-scorer');
    const pool = get(objs, 'InferencePool');
    expect(crds.errors(pool)).toEqual([]);
    // appProtocol only when set: older InferencePool CRDs (before GIE v1.4.0) lack the field.
    expect(at(pool, 'spec.appProtocol')).toBeUndefined();
    expect(at(get(render({ inferencePool: { appProtocol: 'kubernetes.io/h2c' } }), 'InferencePool'), 'spec.appProtocol')).toBe('kubernetes.io/h2c');
    expect(at(pool, 'spec.endpointPickerRef.name')).toBe(at(get(objs, 'Service'), 'metadata.name'));
    expect((get(objs, 'RoleBinding').subjects as Json[])[0]).toMatchObject({ name: at(dep, 'spec.template.spec.serviceAccountName'), namespace: 'serving' });
  });

  it('active-passive: leader election flags and Lease rules for the Lease serve will use', () => {
    const objs = render({ replicas: 2, ha: { mode: 'active-passive' } });
    const flags = checkSwitchboardDeployment(get(objs, 'Deployment'));
    expect(flags.values['ha-enable-leader-election']).toBe(true);
    expect(flags.values['ha-lease-duration']).toBe(15_000);
    const role = get(objs, 'Role');
    checkRole(role);
    const named = (role.rules as Json[]).find((r) => r.resourceNames !== undefined)!;
    expect(named.resourceNames).toEqual([flags.values['ha-lease-name']]);
  });

  it('active-active: the config adds prefix-rendezvous-scorer; a given config wins', () => {
    const cfg = (objs: Json[]) => String((get(objs, 'ConfigMap').data as Json)['config.yaml']);
    const aa = cfg(render({ ha: { mode: 'active-active' } }));
    checkPickerConfig(aa, 'active-active');
    expect(aa).toContain('pluginRef: prefix-rendezvous-scorer');
    expect(parseConfig(aa)).toEqual(parseConfig(readFileSync(join(ROOT, 'bench', 'configs', 'active-active.yaml'), 'utf8')));
    const own = 'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: queue-scorer\n- type: random-picker\n';
    const custom = cfg(render({ ha: { mode: 'active-active' }, config: own }));
    expect(custom.trim()).toBe(own.trim());
    checkPickerConfig(custom, 'custom');
  });

  it.each([
    ['gke', ['GCPBackendPolicy', 'Gateway', 'HTTPRoute', 'HealthCheckPolicy'], 'gke-l7-rilb'],
    ['istio', ['DestinationRule', 'Gateway', 'HTTPRoute'], 'istio'],
    ['envoy-gateway', ['Gateway', 'GatewayClass', 'HTTPRoute'], 'envoy-gateway'],
    ['kgateway', ['Gateway', 'HTTPRoute'], 'kgateway'],
  ])('provider %s: a Gateway and an HTTPRoute to the InferencePool', (name, extra, className) => {
    const objs = render({ provider: { name } });
    const base = kinds(render());
    expect(kinds(objs)).toEqual([...base, ...extra].sort());
    expect(at(get(objs, 'Gateway'), 'spec.gatewayClassName')).toBe(className);
    const route = get(objs, 'HTTPRoute');
    expect((at(route, 'spec.rules') as Json[])[0].backendRefs).toEqual([{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'vllm-llama3-3b' }]);
    expect((at(route, 'spec.parentRefs') as Json[])[0].name).toBe(at(get(objs, 'Gateway'), 'metadata.name'));
    // GKE bounds requests with the GCPBackendPolicy; elsewhere the route carries the timeout.
    expect((at(route, 'spec.rules') as Json[])[0].timeouts).toEqual(name === 'gke' ? undefined : { request: '300s' });
  });

  it('gke: the class is a value; the health check follows the pool`s first target port unless set', () => {
    const objs = render({ provider: { name: 'gke', gateway: { className: 'gke-l7-regional-external-managed' } }, inferencePool: { targetPorts: [8001, 8002] } });
    expect(at(get(objs, 'Gateway'), 'spec.gatewayClassName')).toBe('gke-l7-regional-external-managed');
    expect(at(get(objs, 'HealthCheckPolicy'), 'spec.default.config.httpHealthCheck')).toEqual({ requestPath: '/health', port: 8001 });
    const fixed = render({ provider: { name: 'gke', gke: { healthCheckPort: 9000 } } });
    expect(at(get(fixed, 'HealthCheckPolicy'), 'spec.default.config.httpHealthCheck.port')).toBe(9000);
  });

  it('istio: a DestinationRule with TLS to the picker Service, as upstream`s chart renders', () => {
    const objs = render({ provider: { name: 'istio' } });
    const dr = get(objs, 'DestinationRule');
    expect(at(dr, 'spec.host')).toBe(`${String(at(get(objs, 'Service'), 'metadata.name'))}.serving.svc.cluster.local`);
    expect(at(dr, 'spec.trafficPolicy')).toEqual({ tls: { mode: 'SIMPLE', insecureSkipVerify: true } });
  });

  it('release `switchboard` gives the plain manifests` names and the same container settings', () => {
    const objs = new HelmRenderer().objects(CHART, {}, { Name: 'switchboard', Namespace: 'default' });
    const plain = readDocs('manifests/switchboard/deployment.yaml')[0].obj;
    for (const kind of ['Deployment', 'Service', 'ServiceAccount', 'ConfigMap', 'Role', 'RoleBinding'])
      expect(at(get(objs, kind), 'metadata.name'), kind).toBe(at(readDocs(`manifests/switchboard/${{ Deployment: 'deployment', Service: 'service', ConfigMap: 'config' }[kind] ?? 'rbac'}.yaml`).find((d) => d.obj.kind === kind)!.obj, 'metadata.name'));
    expect(at(get(objs, 'InferencePool'), 'spec.endpointPickerRef.name')).toBe('switchboard');
    expect(at(get(new HelmRenderer().objects(CHART, { fullnameOverride: 'picker' }), 'Deployment'), 'metadata.name')).toBe('picker');
    const c = (at(get(objs, 'Deployment'), 'spec.template.spec.containers') as Json[])[0];
    const p = (at(plain, 'spec.template.spec.containers') as Json[])[0];
    for (const key of ['env', 'ports', 'readinessProbe', 'livenessProbe', 'resources', 'securityContext', 'volumeMounts']) expect(c[key], key).toEqual(p[key]);
    for (const key of ['securityContext', 'terminationGracePeriodSeconds', 'volumes']) expect(at(get(objs, 'Deployment'), `spec.template.spec.${key}`), key).toEqual(at(plain, `spec.template.spec.${key}`));
    expect(at(get(objs, 'Deployment'), 'spec.strategy')).toEqual(at(plain, 'spec.strategy'));
  });

  it('references an existing Gateway when told not to create one', () => {
    const objs = render({ provider: { name: 'gke', gateway: { create: false, name: 'shared' } } });
    expect(objs.filter((o) => o.kind === 'Gateway')).toEqual([]);
    expect((at(get(objs, 'HTTPRoute'), 'spec.parentRefs') as Json[])[0].name).toBe('shared');
  });

  it('monitoring, scheduling constraints, extra flags and env render where expected', () => {
    const objs = render({
      monitoring: { podMonitoring: { enabled: true }, serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus' } } },
      nodeSelector: { pool: 'cpu' },
      tolerations: [{ key: 'dedicated', operator: 'Exists' }],
      extraArgs: ['--refresh-metrics-interval=100ms'],
      env: [{ name: 'EXTRA', value: '1' }],
    });
    expect(at(get(objs, 'PodMonitoring'), 'spec.endpoints')).toMatchObject([{ port: 'metrics', path: '/metrics', interval: '5s' }]);
    expect(at(get(objs, 'ServiceMonitor'), 'metadata.labels.release')).toBe('kube-prometheus');
    const dep = get(objs, 'Deployment');
    expect(checkSwitchboardDeployment(dep).values['refresh-metrics-interval']).toBe(100);
    expect(at(dep, 'spec.template.spec.nodeSelector')).toEqual({ pool: 'cpu' });
    expect(at(dep, 'spec.template.spec.tolerations')).toEqual([{ key: 'dedicated', operator: 'Exists' }]);
    expect((at(dep, 'spec.template.spec.containers') as Json[])[0].env).toContainEqual({ name: 'EXTRA', value: '1' });
    expect((at(dep, 'spec.template.spec.containers') as Json[])[0].env).toContainEqual({ name: 'NODE_OPTIONS', value: '--max-old-space-size=1536' });
  });

  it('renders the alpha pool API when asked, and no pool when another chart owns it', () => {
    const alpha = get(render({ inferencePool: { group: 'inference.networking.x-k8s.io' } }), 'InferencePool');
    expect(alpha.apiVersion).toBe('inference.networking.x-k8s.io/v1alpha2');
    expect(at(alpha, 'spec.targetPortNumber')).toBe(8000);
    expect(render({ inferencePool: { create: false } }).filter((o) => o.kind === 'InferencePool')).toEqual([]);
  });

  it('documents every value in its README', () => {
    const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Json;
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const keys: string[] = [];
    const walk = (o: Json, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        const key = prefix + k;
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 && !['resources', 'podSecurityContext', 'securityContext', 'matchLabels'].includes(k)) walk(v as Json, `${key}.`);
        else keys.push(key);
      }
    };
    walk(values, '');
    for (const k of keys) expect(readme, k).toContain(`\`${k}\``);
  });

  it('prints usable notes', () => {
    const notes = new HelmRenderer().render(CHART, { provider: { name: 'gke' } }).get('NOTES.txt')!;
    expect(notes).toContain('InferencePool vllm-llama3-3b in namespace serving');
    expect(notes).toContain('get gateway inference-gateway');
  });
});
