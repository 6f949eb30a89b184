/**
 * Kubernetes discovery, in the Go EPP's two modes:
 * - pool mode (`--pool-name`): watch the InferencePool, the pods its selector matches, and the
 *   InferenceObjective and InferenceModelRewrite resources that reference it;
 * - selector mode (`--endpoint-selector` + `--endpoint-target-ports`): watch pods only, no CRDs.
 *
 * The pool is synced (readiness) once the InferencePool exists and the first full list of its
 * pods is in, and the optional resources have either listed or been found missing. Missing
 * optional CRDs never stop the picker (the Go EPP crash-loops without InferenceObjective, its
 * issue #1737): they are logged once and looked for again every `unavailableRetryMs`.
 */
import type { ModelRewriteSpec, ObjectiveSpec } from '../../config/types.js';
import type { Discovery, DiscoveryLogger, DiscoveryTarget } from '../discovery.js';
import type { KubeClient } from './client.js';
import { Reflector, type BackoffOptions, type ReflectorHooks, type ReflectorOptions } from './reflector.js';
import {
  labelSelector,
  parseInferencePool,
  parseObjective,
  parsePod,
  parseRewrite,
  poolEndpoints,
  poolObjectives,
  poolRewrites,
  POOL_GROUP_V1,
  X_GROUP,
  type ObjectiveInfo,
  type PodInfo,
  type PoolInfo,
  type RewriteInfo,
} from './resources.js';

/** Which pods to watch. */
export type KubernetesMode =
  | { kind: 'pool'; name: string; group: string }
  | { kind: 'selector'; selector: Record<string, string>; targetPorts: number[] };

export interface KubernetesDiscoveryOptions {
  client: KubeClient;
  namespace: string;
  mode: KubernetesMode;
  target: DiscoveryTarget;
  /** Objectives and rewrites from the config file; Kubernetes resources are merged over them. */
  base?: { objectives: readonly ObjectiveSpec[]; modelRewrites: readonly ModelRewriteSpec[] };
  /** `--model-server-metrics-port` (single-port pools only). */
  metricsPortOverride?: number;
  logger: DiscoveryLogger;
  hooks?: ReflectorHooks;
  /** Reflector tuning (tests make it fast). */
  backoff?: Partial<BackoffOptions>;
  unavailableRetryMs?: number;
  idleTimeoutMs?: number;
}

export class KubernetesDiscovery implements Discovery {
  readonly kind: string;
  private readonly ns: string;
  private poolReflector: Reflector<PoolInfo> | null = null;
  private podReflector: Reflector<PodInfo> | null = null;
  private objectiveReflector: Reflector<ObjectiveInfo> | null = null;
  private rewriteReflector: Reflector<RewriteInfo> | null = null;
  /** The pool spec in force (from the InferencePool or the selector flags), or null. */
  private poolInfo: PoolInfo | null = null;
  private podSelector = '';
  private closed = false;
  private readonly stopping: Array<Promise<void>> = [];

  constructor(private readonly opts: KubernetesDiscoveryOptions) {
    this.ns = encodeURIComponent(opts.namespace);
    this.kind = opts.mode.kind === 'pool' ? 'kubernetes' : 'kubernetes-selector';
  }

  /** The pool spec in force, for debugging and the proxy's upstream protocol. */
  get pool(): PoolInfo | null {
    return this.poolInfo;
  }

  async start(): Promise<void> {
    const mode = this.opts.mode;
    const hooks = this.hooksWithLog();
    if (mode.kind === 'selector') {
      this.setPoolInfo({ name: 'selector', selector: mode.selector, targetPorts: mode.targetPorts, appProtocol: 'http' });
      return;
    }
    const version = mode.group === POOL_GROUP_V1 ? 'v1' : 'v1alpha2';
    this.poolReflector = this.reflector<PoolInfo>({
      resource: 'inferencepools',
      path: `/apis/${mode.group}/${version}/namespaces/${this.ns}/inferencepools`,
      fieldSelector: `metadata.name=${mode.name}`,
      parse: parseInferencePool,
      onChange: (r) => this.onPool(r),
      onUnavailable: (_r, status) =>
        this.opts.logger.error(
          { group: mode.group, status },
          status === 404 ? 'the InferencePool CRD is not installed; not ready until it is' : 'not allowed to read InferencePools; check RBAC',
        ),
      hooks,
    }).start();
    const xBase = `/apis/${X_GROUP}/v1alpha2/namespaces/${this.ns}`;
    this.objectiveReflector = this.reflector<ObjectiveInfo>({
      resource: 'inferenceobjectives',
      path: `${xBase}/inferenceobjectives`,
      parse: parseObjective,
      onChange: () => this.onObjectives(),
      onUnavailable: (r) => this.onOptionalMissing(r),
      hooks,
    }).start();
    this.rewriteReflector = this.reflector<RewriteInfo>({
      resource: 'inferencemodelrewrites',
      path: `${xBase}/inferencemodelrewrites`,
      parse: parseRewrite,
      onChange: () => this.onRewrites(),
      onUnavailable: (r) => this.onOptionalMissing(r),
      hooks,
    }).start();
  }

  async close(): Promise<void> {
    this.closed = true;
    const rs = [this.poolReflector, this.podReflector, this.objectiveReflector, this.rewriteReflector];
    await Promise.all([...rs.map((r) => r?.stop()), ...this.stopping]);
  }

  private reflector<T>(o: Omit<ReflectorOptions<T>, 'client'>): Reflector<T> {
    return new Reflector<T>({
      client: this.opts.client,
      backoff: this.opts.backoff,
      unavailableRetryMs: this.opts.unavailableRetryMs,
      idleTimeoutMs: this.opts.idleTimeoutMs,
      ...o,
    });
  }

  private hooksWithLog(): ReflectorHooks {
    const h = this.opts.hooks ?? {};
    return { ...h, log: h.log ?? this.opts.logger };
  }

  private onPool(r: Reflector<PoolInfo>): void {
    const mode = this.opts.mode as { name: string };
    const info = r.store.get(mode.name) ?? null;
    if (info === null) {
      if (this.poolInfo !== null) {
        // As the Go EPP clears its datastore when the pool goes: no endpoints, not ready.
        this.opts.logger.warn({ pool: mode.name }, 'InferencePool deleted or unusable; dropping its endpoints');
        this.poolInfo = null;
        this.stopPods();
        this.opts.target.pool.setEndpoints([]);
        this.opts.target.pool.synced = false;
      } else if (r.synced) this.opts.logger.warn({ pool: mode.name, namespace: this.opts.namespace }, 'InferencePool not found yet; waiting');
      return;
    }
    this.setPoolInfo(info);
  }

  private setPoolInfo(info: PoolInfo): void {
    const prev = this.poolInfo;
    this.poolInfo = info;
    if (prev === null || prev.appProtocol !== info.appProtocol || prev.targetPorts.join() !== info.targetPorts.join())
      this.opts.logger.info({ pool: info.name, selector: info.selector, targetPorts: info.targetPorts, appProtocol: info.appProtocol }, 'pool spec');
    const sel = labelSelector(info.selector);
    if (sel !== this.podSelector || this.podReflector === null) {
      // A new selector needs a new pod list; the current endpoints stay until it is in.
      this.stopPods();
      this.podSelector = sel;
      this.podReflector = this.reflector<PodInfo>({
        resource: 'pods',
        path: `/api/v1/namespaces/${this.ns}/pods`,
        labelSelector: sel,
        parse: parsePod,
        onChange: () => this.syncEndpoints(),
        onUnavailable: (_r, status) => this.opts.logger.error({ status }, 'cannot list pods; check RBAC'),
        hooks: this.hooksWithLog(),
      }).start();
      return;
    }
    this.syncEndpoints();
  }

  private stopPods(): void {
    const old = this.podReflector;
    this.podReflector = null;
    this.podSelector = '';
    if (old !== null) this.stopping.push(old.stop());
  }

  private syncEndpoints(): void {
    const info = this.poolInfo;
    const pods = this.podReflector;
    if (this.closed || info === null || pods === null || !pods.synced) return;
    const specs = poolEndpoints(info, pods.store.values(), this.opts.metricsPortOverride ?? 0);
    const pool = this.opts.target.pool;
    const before = pool.size;
    pool.setEndpoints(specs);
    if (pool.size !== before) this.opts.logger.info({ endpoints: pool.size }, 'pool endpoints changed');
    this.maybeSynced();
  }

  private onObjectives(): void {
    const r = this.objectiveReflector;
    if (r === null) return;
    const mine = poolObjectives(r.store.values(), this.poolRef());
    // Config objectives first: a Kubernetes objective of the same name wins (later entries override).
    this.opts.target.objectives.replace([...(this.opts.base?.objectives ?? []), ...mine]);
    this.maybeSynced();
  }

  private onRewrites(): void {
    const r = this.rewriteReflector;
    if (r === null) return;
    const { exact, generic, genericName } = poolRewrites(r.store.values(), this.poolRef());
    // Kubernetes rules first: for a model named by both, the cluster's rule wins.
    this.opts.target.rewriter.replace([...exact, ...(this.opts.base?.modelRewrites ?? [])], generic, genericName);
    this.maybeSynced();
  }

  private onOptionalMissing(r: Reflector<unknown>): void {
    this.opts.logger.warn(
      { resource: r.resource, status: r.unavailable },
      r.unavailable === 404
        ? 'optional CRD not installed; continuing without it and checking again later'
        : 'not allowed to read an optional resource (check RBAC); continuing without it',
    );
    this.maybeSynced();
  }

  private poolRef(): { group: string; name: string } {
    const m = this.opts.mode as { name: string; group: string };
    return { group: m.group, name: m.name };
  }

  private maybeSynced(): void {
    const pool = this.opts.target.pool;
    if (pool.synced || this.closed || this.poolInfo === null || this.podReflector?.synced !== true) return;
    const settled = (r: Reflector<unknown> | null) => r === null || r.synced || r.unavailable !== null;
    if (!settled(this.objectiveReflector) || !settled(this.rewriteReflector)) return;
    pool.markSynced();
    this.opts.logger.info({ endpoints: pool.size, mode: this.kind }, 'discovery synced');
  }
}
