import { registerBuiltinPlugins } from '../../src/builtin-plugins.js';
/**
 * Invariants of the objects we ship, applied to deploy/ files and to the rendered Helm chart
 * alike: the picker's Deployment (probes, security, flags serve accepts, config it can load),
 * Service ports, least-privilege RBAC, and references between objects.
 */
import { expect } from 'vitest';
import { parseFlags } from '../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { parseConfig } from '../../src/config/load.js';
import { EndpointPool } from '../../src/pool/pool.js';
import { buildScheduling } from '../../src/scheduling/build.js';
import { seededRandom } from '../../src/util/random.js';
import { at } from './deploy.js';

type Json = Record<string, unknown>;

/** The picker container of a Deployment, if it runs `switchboard serve`. */
export function switchboardContainer(dep: Json): Json | null {
  const cs = (at(dep, 'spec.template.spec.containers') as Json[] | undefined) ?? [];
  return cs.find((c) => Array.isArray(c.args) && (c.args as string[])[0] === 'serve') ?? null;
}

/** Checks a Deployment running Switchboard; returns its parsed serve flags. */
export function checkSwitchboardDeployment(dep: Json): ReturnType<typeof parseFlags> {
  const c = switchboardContainer(dep)!;
  expect(c, 'switchboard container').not.toBeNull();
  const selector = at(dep, 'spec.selector.matchLabels') as Record<string, string>;
  const labels = at(dep, 'spec.template.metadata.labels') as Record<string, string>;
  for (const [k, v] of Object.entries(selector)) expect(labels[k]).toBe(v);
  // Probes on the gRPC health port: readiness follows sync (and leadership), liveness never does.
  expect(at(c, 'readinessProbe.grpc')).toEqual({ port: 9003, service: 'readiness' });
  expect(at(c, 'livenessProbe.grpc')).toEqual({ port: 9003, service: 'liveness' });
  const ports = Object.fromEntries(((c.ports as Json[]) ?? []).map((p) => [p.name, p.containerPort]));
  expect(ports).toEqual({ grpc: 9002, 'grpc-health': 9003, metrics: 9090 });
  // Non-root, read-only root filesystem, no privilege escalation, no capabilities.
  const podSec = at(dep, 'spec.template.spec.securityContext') as Json;
  expect(podSec.runAsNonRoot).toBe(true);
  expect(Number(podSec.runAsUser)).toBeGreaterThan(0);
  expect(at(c, 'securityContext.readOnlyRootFilesystem')).toBe(true);
  expect(at(c, 'securityContext.allowPrivilegeEscalation')).toBe(false);
  expect(at(c, 'securityContext.capabilities.drop')).toEqual(['ALL']);
  expect(at(c, 'resources.requests.cpu')).toBeDefined();
  expect(at(c, 'resources.requests.memory')).toBeDefined();
  expect(at(c, 'resources.limits.memory')).toBeDefined();
  const mounts = (c.volumeMounts as Json[]).map((m) => m.mountPath);
  expect(mounts).toContain('/tmp');
  // Every flag is one `switchboard serve` accepts (Kubernetes expands $(NAMESPACE)).
  const args = (c.args as string[]).slice(1).map((a) => a.replace('$(NAMESPACE)', 'serving'));
  return parseFlags(SERVE_FLAGS, args);
}

/** The EndpointPickerConfig text loads and builds (every plugin type exists, parameters valid). */
export function checkPickerConfig(text: string, source: string): void {
  const cfg = parseConfig(text, source);
  const built = buildScheduling(cfg, { pool: new EndpointPool(), rng: seededRandom(1) }, { registry: registerBuiltinPlugins() });
  expect(built.warnings, source).toEqual([]);
}

/** The picker Service exposes ext_proc, health and metrics. */
export function checkSwitchboardService(svc: Json, podLabels: Record<string, string>): void {
  const ports = Object.fromEntries(((at(svc, 'spec.ports') as Json[]) ?? []).map((p) => [p.name, p.port]));
  expect(ports).toEqual({ grpc: 9002, 'grpc-health': 9003, metrics: 9090 });
  for (const [k, v] of Object.entries(at(svc, 'spec.selector') as Record<string, string>)) expect(podLabels[k]).toBe(v);
}

/** Verbs each resource may have: read-only, except the one Lease. */
const ALLOWED: Record<string, string[]> = {
  '/pods': ['get', 'list', 'watch'],
  'inference.networking.k8s.io/inferencepools': ['get', 'list', 'watch'],
  'inference.networking.x-k8s.io/inferencepools': ['get', 'list', 'watch'],
  'inference.networking.x-k8s.io/inferenceobjectives': ['get', 'list', 'watch'],
  'inference.networking.x-k8s.io/inferencemodelrewrites': ['get', 'list', 'watch'],
  'coordination.k8s.io/leases': ['create', 'get', 'update'],
};

/** A least-privilege Role: no wildcards, only the verbs above, updates only on named Leases. */
export function checkRole(role: Json): void {
  expect(role.kind).toBe('Role');
  for (const rule of role.rules as Json[]) {
    const groups = rule.apiGroups as string[];
    const resources = rule.resources as string[];
    const verbs = rule.verbs as string[];
    expect([...groups, ...resources, ...verbs]).not.toContain('*');
    for (const g of groups)
      for (const r of resources) {
        const allowed = ALLOWED[`${g}/${r}`];
        expect(allowed, `${g}/${r}`).toBeDefined();
        for (const v of verbs) expect(allowed).toContain(v);
        if (verbs.includes('update')) expect(rule.resourceNames, 'update only named objects').toBeDefined();
      }
  }
}

/** An int-or-percent of a Deployment's rollingUpdate, resolved as the deployment controller does. */
function intOrPercent(v: unknown, replicas: number, fallback: string, roundUp: boolean): number {
  const s = v === undefined ? fallback : String(v);
  if (!s.endsWith('%')) return Number(s);
  const x = (Number(s.slice(0, -1)) * replicas) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/**
 * Whether a rollout of `dep` can finish when at most one of its pods is ever ready (leader
 * election: standbys report NOT_SERVING). With RollingUpdate the controller removes old pods only
 * while more than replicas − maxUnavailable pods are available, minus the new pods not yet
 * available: with maxUnavailable 0 it removes none, and the new standby never becomes ready.
 */
export function rolloutFinishesWithOneReadyPod(dep: Json): { ok: boolean; why: string } {
  const type = String(at(dep, 'spec.strategy.type') ?? 'RollingUpdate');
  if (type === 'Recreate') return { ok: true, why: 'Recreate stops the old pods first' };
  const replicas = Number(at(dep, 'spec.replicas') ?? 1);
  const surge = intOrPercent(at(dep, 'spec.strategy.rollingUpdate.maxSurge'), replicas, '25%', true);
  const unavailable = intOrPercent(at(dep, 'spec.strategy.rollingUpdate.maxUnavailable'), replicas, '25%', false);
  // Old pods the controller may remove while `surge` new pods stay unready:
  // (replicas + surge) − (replicas − maxUnavailable) − surge = maxUnavailable.
  const removable = replicas + surge - (replicas - unavailable) - surge;
  return removable >= 1
    ? { ok: true, why: `RollingUpdate removes ${removable} old pod(s) at a time without new ones ready` }
    : { ok: false, why: `RollingUpdate with ${replicas} replicas, maxSurge ${surge}, maxUnavailable ${unavailable} waits forever for a standby to become ready` };
}

/** The picker's cluster-wide rights: exactly TokenReview and SubjectAccessReview create. */
export function checkAuthClusterRole(role: Json): void {
  expect(role.kind).toBe('ClusterRole');
  const rules = (role.rules as Json[]).map((r) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs }));
  expect(rules).toEqual([
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
  ]);
}

/** The scrapers' ClusterRole: GET on /metrics and /debug/*, nothing else. */
export function checkMetricsReaderClusterRole(role: Json): void {
  expect(role.kind).toBe('ClusterRole');
  expect(role.rules).toEqual([{ nonResourceURLs: ['/metrics', '/debug/*'], verbs: ['get'] }]);
}
