/**
 * The Kubernetes objects discovery reads, parsed at the edge into the few fields it uses, and
 * the pure functions that turn them into endpoints, objectives and rewrite rules.
 *
 * Every parser returns null for an object it cannot use; the reflector counts those as malformed.
 */
import { isIP } from 'node:net';
import type { ModelRewriteSpec, ObjectiveSpec } from '../../config/types.js';
import type { EndpointSpec } from '../../pool/endpoint.js';

/** Pod annotation restricting which target ports of a pod serve (comma-separated numbers). */
export const ACTIVE_PORTS_ANNOTATION = 'inference.networking.k8s.io/active-ports';
/** Pod annotations naming the vLLM KV-events publisher and replay ports (rank 0; rank i adds i, as vLLM offsets them). */
export const KV_EVENTS_PORT_ANNOTATION = 'switchboard.dev/kv-events-port';
export const KV_EVENTS_REPLAY_PORT_ANNOTATION = 'switchboard.dev/kv-events-replay-port';
/** API group of the GA InferencePool. */
export const POOL_GROUP_V1 = 'inference.networking.k8s.io';
/** API group of the alpha InferencePool, InferenceObjective and InferenceModelRewrite. */
export const X_GROUP = 'inference.networking.x-k8s.io';
/** Most target ports a pool may have. */
export const MAX_TARGET_PORTS = 8;

/** What discovery keeps of a pod. */
export interface PodInfo {
  name: string;
  labels: Readonly<Record<string, string>>;
  /** `inference.networking.k8s.io/active-ports`, or null when absent. */
  activePorts: string | null;
  /** KV-events ports from the pod's annotations, or null (then the configured default). */
  kvEventsPort?: number | null;
  kvEventsReplayPort?: number | null;
  /** Pod IP, or null before one is assigned. */
  ip: string | null;
  /** The Ready condition is True. */
  ready: boolean;
  /** deletionTimestamp is set (terminating). */
  deleting: boolean;
}

/** What discovery keeps of an InferencePool (or of the standalone selector flags). */
export interface PoolInfo {
  name: string;
  selector: Readonly<Record<string, string>>;
  targetPorts: readonly number[];
  /** `http` or `kubernetes.io/h2c`. */
  appProtocol: string;
}

/** A reference from an objective or rewrite to its pool. */
export interface PoolRef {
  group: string;
  name: string;
}

/** What discovery keeps of an InferenceObjective. */
export interface ObjectiveInfo {
  name: string;
  priority: number;
  poolRef: PoolRef;
}

/** What discovery keeps of an InferenceModelRewrite. */
export interface RewriteInfo {
  name: string;
  /** creationTimestamp in ms (precedence: oldest first). */
  created: number;
  poolRef: PoolRef;
  rules: Array<{ models: string[]; targets: Array<{ model: string; weight: number }> }>;
}

function meta(o: Record<string, unknown>): Record<string, unknown> {
  const m = o.metadata;
  return typeof m === 'object' && m !== null ? (m as Record<string, unknown>) : {};
}

function stringMap(v: unknown): Record<string, string> | null {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) return null;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val !== 'string') return null;
    out[k] = val;
  }
  return out;
}

function port(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535 ? v : null;
}

/** A port number written in an annotation, or null (absent or not a port: the default applies). */
function annotationPort(v: string | undefined): number | null {
  return v === undefined || !/^\d{1,5}$/.test(v.trim()) ? null : port(Number(v.trim()));
}

/** Parses a Pod. */
export function parsePod(o: Record<string, unknown>): PodInfo | null {
  const m = meta(o);
  if (typeof m.name !== 'string') return null;
  const labels = stringMap(m.labels);
  const annotations = stringMap(m.annotations);
  if (labels === null || annotations === null) return null;
  const status = (typeof o.status === 'object' && o.status !== null ? o.status : {}) as Record<string, unknown>;
  const conditions = Array.isArray(status.conditions) ? (status.conditions as Array<Record<string, unknown> | null>) : [];
  const ready = conditions.some((c) => c !== null && c.type === 'Ready' && c.status === 'True');
  // The address becomes Envoy's routing header: only a plain IP may get there (no list, port or name).
  const ip = typeof status.podIP === 'string' && isIP(status.podIP) !== 0 ? status.podIP : null;
  return {
    name: m.name,
    labels,
    activePorts: annotations[ACTIVE_PORTS_ANNOTATION] ?? null,
    kvEventsPort: annotationPort(annotations[KV_EVENTS_PORT_ANNOTATION]),
    kvEventsReplayPort: annotationPort(annotations[KV_EVENTS_REPLAY_PORT_ANNOTATION]),
    ip,
    ready,
    deleting: m.deletionTimestamp !== undefined && m.deletionTimestamp !== null,
  };
}

/**
 * Parses an InferencePool: `v1` (`selector.matchLabels`, `targetPorts[].number`, `appProtocol`)
 * or the older `v1alpha2` (`selector` map, `targetPortNumber`). Returns null when the spec is
 * unusable (no selector, no ports, more than 8, duplicates).
 */
export function parseInferencePool(o: Record<string, unknown>): PoolInfo | null {
  const m = meta(o);
  if (typeof m.name !== 'string') return null;
  const spec = o.spec as Record<string, unknown> | undefined;
  if (typeof spec !== 'object' || spec === null) return null;
  let selector: Record<string, string> | null;
  let ports: number[];
  const sel = spec.selector as Record<string, unknown> | undefined;
  if (Array.isArray(spec.targetPorts)) {
    selector = stringMap(sel?.matchLabels);
    ports = [];
    for (const p of spec.targetPorts as unknown[]) {
      const n = port((p as { number?: unknown } | null)?.number);
      if (n === null) return null;
      ports.push(n);
    }
  } else {
    selector = stringMap(sel);
    const n = port(spec.targetPortNumber);
    if (n === null) return null;
    ports = [n];
  }
  if (selector === null || Object.keys(selector).length === 0) return null;
  if (ports.length === 0 || ports.length > MAX_TARGET_PORTS || new Set(ports).size !== ports.length) return null;
  const appProtocol = typeof spec.appProtocol === 'string' && spec.appProtocol !== '' ? spec.appProtocol : 'http';
  return { name: m.name, selector, targetPorts: ports, appProtocol };
}

function poolRef(v: unknown): PoolRef | null {
  const r = v as { group?: unknown; name?: unknown } | null | undefined;
  if (typeof r !== 'object' || r === null || typeof r.name !== 'string' || r.name === '') return null;
  return { group: typeof r.group === 'string' ? r.group : POOL_GROUP_V1, name: r.name };
}

/** Parses an InferenceObjective (`spec.priority`, unset means 0; `spec.poolRef`). */
export function parseObjective(o: Record<string, unknown>): ObjectiveInfo | null {
  const m = meta(o);
  const spec = o.spec as Record<string, unknown> | undefined;
  if (typeof m.name !== 'string' || typeof spec !== 'object' || spec === null) return null;
  const ref = poolRef(spec.poolRef);
  if (ref === null) return null;
  const p = spec.priority;
  if (p !== undefined && p !== null && !(typeof p === 'number' && Number.isInteger(p))) return null;
  return { name: m.name, priority: typeof p === 'number' ? p : 0, poolRef: ref };
}

/** Parses an InferenceModelRewrite (`spec.rules[].matches[].model.value`, `targets[].modelRewrite/weight`). */
export function parseRewrite(o: Record<string, unknown>): RewriteInfo | null {
  const m = meta(o);
  const spec = o.spec as Record<string, unknown> | undefined;
  if (typeof m.name !== 'string' || typeof spec !== 'object' || spec === null || !Array.isArray(spec.rules)) return null;
  const ref = poolRef(spec.poolRef);
  if (ref === null) return null;
  const created = typeof m.creationTimestamp === 'string' ? Date.parse(m.creationTimestamp) : NaN;
  const rules: RewriteInfo['rules'] = [];
  for (const raw of spec.rules as unknown[]) {
    const r = raw as { matches?: unknown; targets?: unknown } | null;
    if (typeof r !== 'object' || r === null) return null;
    const models: string[] = [];
    for (const mt of Array.isArray(r.matches) ? (r.matches as unknown[]) : []) {
      const model = (mt as { model?: { type?: unknown; value?: unknown } } | null)?.model;
      if (typeof model?.value !== 'string' || model.value === '') return null;
      // Only Exact exists today; a future match type we do not know must not match by accident.
      if (model.type !== undefined && model.type !== 'Exact') continue;
      models.push(model.value);
    }
    const targets: Array<{ model: string; weight: number }> = [];
    for (const t of Array.isArray(r.targets) ? (r.targets as unknown[]) : []) {
      const tt = t as { modelRewrite?: unknown; weight?: unknown } | null;
      if (typeof tt?.modelRewrite !== 'string' || tt.modelRewrite === '') return null;
      const w = tt.weight === undefined || tt.weight === null ? 0 : tt.weight;
      if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) return null;
      targets.push({ model: tt.modelRewrite, weight: w });
    }
    if (targets.length === 0) continue;
    // A rule whose matches were all of unknown types matches nothing (not everything).
    if (models.length === 0 && Array.isArray(r.matches) && r.matches.length > 0) continue;
    rules.push({ models, targets });
  }
  return { name: m.name, created: Number.isFinite(created) ? created : 0, poolRef: ref, rules };
}

/** Whether `labels` carries every key/value of `selector`. */
export function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/** `k=v,k2=v2` for the API's labelSelector, keys sorted so equal selectors compare equal. */
export function labelSelector(selector: Readonly<Record<string, string>>): string {
  return Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k]}`)
    .join(',');
}

/** The ports of `targetPorts` a pod serves, after its active-ports annotation. */
export function activePorts(pod: PodInfo, targetPorts: readonly number[]): Set<number> {
  if (pod.activePorts === null) return new Set(targetPorts);
  const out = new Set<number>();
  for (const s of pod.activePorts.split(',')) {
    const n = Number(s.trim());
    if (Number.isInteger(n) && targetPorts.includes(n)) out.add(n);
  }
  return out;
}

/**
 * The endpoints of a pool: each target port of each Ready, non-terminating pod with an IP that
 * the selector matches, named `<pod>-rank-<index>`. `metricsPortOverride` (the Go EPP's
 * `--model-server-metrics-port`) applies only to single-port pools.
 */
export function poolEndpoints(pool: PoolInfo, pods: Iterable<PodInfo>, metricsPortOverride = 0): EndpointSpec[] {
  const out: EndpointSpec[] = [];
  const override = pool.targetPorts.length === 1 && metricsPortOverride > 0 ? metricsPortOverride : 0;
  for (const pod of pods) {
    if (!pod.ready || pod.deleting || pod.ip === null || !selects(pool.selector, pod.labels)) continue;
    const active = activePorts(pod, pool.targetPorts);
    pool.targetPorts.forEach((p, idx) => {
      if (!active.has(p)) return;
      const spec: EndpointSpec = { name: `${pod.name}-rank-${idx}`, address: pod.ip as string, port: p, labels: pod.labels };
      if (override > 0) spec.metricsPort = override;
      // Data-parallel ranks publish on the base ports plus their rank.
      if (pod.kvEventsPort != null) spec.kvEventsPort = pod.kvEventsPort + idx;
      if (pod.kvEventsReplayPort != null) spec.kvEventsReplayPort = pod.kvEventsReplayPort + idx;
      out.push(spec);
    });
  }
  return out;
}

/** Objectives of the pool `ref` (others are ignored, as the Go EPP's predicate does). */
export function poolObjectives(objectives: Iterable<ObjectiveInfo>, ref: PoolRef): ObjectiveSpec[] {
  const out: ObjectiveSpec[] = [];
  for (const o of objectives) if (o.poolRef.name === ref.name && o.poolRef.group === ref.group) out.push({ name: o.name, priority: o.priority });
  return out;
}

/**
 * Rewrite rules of the pool `ref` in precedence order: exact matches, oldest resource first
 * (then name, then rule order); and the generic rule (no matches) of the oldest resource.
 */
export function poolRewrites(
  rewrites: Iterable<RewriteInfo>,
  ref: PoolRef,
): { exact: ModelRewriteSpec[]; generic: ModelRewriteSpec['targets'] | null; genericName: string } {
  const mine = [...rewrites].filter((r) => r.poolRef.name === ref.name && r.poolRef.group === ref.group);
  mine.sort((a, b) => a.created - b.created || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const exact: ModelRewriteSpec[] = [];
  let generic: ModelRewriteSpec['targets'] | null = null;
  let genericName = '';
  for (const r of mine)
    for (const rule of r.rules) {
      if (rule.models.length === 0) {
        if (generic === null) [generic, genericName] = [rule.targets, r.name];
      } else for (const model of rule.models) exact.push({ name: r.name, model, targets: rule.targets });
    }
  // The resource's name labels `inference_extension_model_rewrite_decisions_total`.
  return { exact, generic, genericName };
}
