/**
 * Metrics and debug endpoint auth as deployed: the picker may create TokenReviews and
 * SubjectAccessReviews; a reader service account may GET /metrics and /debug/* and nothing else;
 * the PodMonitoring and ServiceMonitor send that account's token from its Secret (and GMP's
 * collector may read exactly that Secret). The same for the Helm chart, and off when asked.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { at, DEPLOY, isKubeObject, readDocs, ROOT } from '../support/deploy.js';
import { checkAuthClusterRole, checkMetricsReaderClusterRole, checkSwitchboardDeployment } from '../support/deploy-checks.js';
import { HelmRenderer } from '../support/helm-template.js';
import { kustomize } from '../support/kustomize.js';

type Json = Record<string, unknown>;
const named = (objs: Json[], kind: string, name?: string) => {
  const l = objs.filter((o) => o.kind === kind && (name === undefined || at(o, 'metadata.name') === name));
  expect(l, `${kind} ${name ?? ''}`).toHaveLength(1);
  return l[0];
};
const binds = (objs: Json[], roleName: string) => objs.find((o) => o.kind === 'ClusterRoleBinding' && at(o, 'roleRef.name') === roleName)!;

/** Checks one deployment's auth wiring; `objs` holds the picker, RBAC, reader and monitors. */
function checkWiring(objs: Json[], namespace: string): void {
  const dep = named(objs, 'Deployment');
  const sa = String(at(dep, 'spec.template.spec.serviceAccountName'));
  // Auth stays on: serve's default in Kubernetes mode, never turned off here.
  const flags = checkSwitchboardDeployment(dep);
  expect(!flags.given.has('metrics-endpoint-auth') || flags.values['metrics-endpoint-auth'] === true).toBe(true);
  const roles = objs.filter((o) => o.kind === 'ClusterRole');
  const auth = roles.find((r) => JSON.stringify(r.rules).includes('tokenreviews'))!;
  checkAuthClusterRole(auth);
  expect(binds(objs, String(at(auth, 'metadata.name'))).subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace }]);
  const reader = roles.find((r) => JSON.stringify(r.rules).includes('nonResourceURLs'))!;
  checkMetricsReaderClusterRole(reader);
  const readerSubjects = binds(objs, String(at(reader, 'metadata.name'))).subjects as Json[];
  expect(readerSubjects).toHaveLength(1);
  const readerSa = named(objs, 'ServiceAccount', String(readerSubjects[0].name));
  expect(readerSubjects[0].namespace).toBe(namespace);
  const secret = named(objs, 'Secret');
  expect(secret.type).toBe('kubernetes.io/service-account-token');
  expect(at(secret, 'metadata.annotations')).toEqual({ 'kubernetes.io/service-account.name': at(readerSa, 'metadata.name') });
  const secretName = at(secret, 'metadata.name');

  const pm = named(objs, 'PodMonitoring');
  for (const e of at(pm, 'spec.endpoints') as Json[]) expect(e.authorization).toEqual({ type: 'Bearer', credentials: { secret: { name: secretName, key: 'token' } } });
  // GMP's collector reads the Secret: a Role on exactly that Secret, bound to gmp-system/collector.
  const secretRole = objs.find((o) => o.kind === 'Role' && JSON.stringify(o.rules).includes('secrets'))!;
  expect(secretRole.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: [secretName], verbs: ['get', 'list', 'watch'] }]);
  const rb = objs.find((o) => o.kind === 'RoleBinding' && at(o, 'roleRef.name') === at(secretRole, 'metadata.name'))!;
  expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'collector', namespace: 'gmp-system' }]);

  const sm = named(objs, 'ServiceMonitor');
  for (const e of at(sm, 'spec.endpoints') as Json[]) expect(e.authorization).toEqual({ type: 'Bearer', credentials: { name: secretName, key: 'token' } });
}

describe('metrics endpoint auth', () => {
  it('plain manifests: picker RBAC for reviews, a reader account, monitors sending its token', () => {
    const objs = [
      ...kustomize('manifests/switchboard'),
      ...readDocs('manifests/podmonitoring.yaml').map((d) => d.obj).filter((o) => at(o, 'metadata.name') !== 'vllm-llama3-3b'),
      ...readDocs('manifests/servicemonitor.yaml').map((d) => d.obj),
    ].filter(isKubeObject);
    checkWiring(objs, 'default');
  });

  it('helm chart: the same wiring with monitoring on, release-scoped names; none of it when turned off', () => {
    const chart = join(DEPLOY, 'helm', 'switchboard');
    const monitoring = { podMonitoring: { enabled: true }, serviceMonitor: { enabled: true } };
    const on = new HelmRenderer().objects(chart, { monitoring });
    checkWiring(on, 'serving');
    for (const o of on.filter((x) => String(x.kind).startsWith('Cluster'))) expect(String(at(o, 'metadata.name'))).toMatch(/^serving-sb-switchboard-/);

    const off = new HelmRenderer().objects(chart, { monitoring, metricsAuth: { enabled: false } });
    expect(off.filter((o) => ['ClusterRole', 'ClusterRoleBinding', 'Secret'].includes(String(o.kind)))).toEqual([]);
    expect(checkSwitchboardDeployment(named(off, 'Deployment')).values['metrics-endpoint-auth']).toBe(false);
    for (const kind of ['PodMonitoring', 'ServiceMonitor']) for (const e of at(named(off, kind), 'spec.endpoints') as Json[]) expect(e.authorization).toBeUndefined();
  });

  it('documents the Kubernetes path and the static-token path for use without Kubernetes', () => {
    const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
    expect(readme).toContain('TokenReview');
    expect(readme).toContain('--metrics-token-file');
    expect(readFileSync(join(ROOT, 'docs', 'run-without-kubernetes.md'), 'utf8')).toContain('--metrics-token-file');
  });
});
