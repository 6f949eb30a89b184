/**
 * Chooses and starts the endpoint source of `switchboard serve`, and leader election:
 *
 * | flags                                         | source                                   |
 * |-----------------------------------------------|------------------------------------------|
 * | `--endpoints`, config `endpoints:` or `--demo`  | static (synced at once)                  |
 * | `--endpoints-file`                            | file, reloaded on change                 |
 * | `--endpoint-selector` + `--endpoint-target-ports` | Kubernetes pods, no CRDs             |
 * | `--pool-name` (and none of the above)         | Kubernetes InferencePool + pods + CRDs   |
 *
 * `--pool-name` alone with static endpoints only names the pool in metrics, as before.
 */
import { Counter, Gauge } from 'prom-client';
import type { EndpointPickerConfig } from '../config/types.js';
import type { Discovery, DiscoveryLogger } from '../discovery/discovery.js';
import { FileDiscovery } from '../discovery/file-discovery.js';
import { KubeClient } from '../discovery/kubernetes/client.js';
import { resolveConnection } from '../discovery/kubernetes/connection.js';
import { KubernetesDiscovery, type KubernetesMode } from '../discovery/kubernetes/kubernetes-discovery.js';
import type { ReflectorHooks } from '../discovery/kubernetes/reflector.js';
import { MAX_TARGET_PORTS, POOL_GROUP_V1, X_GROUP } from '../discovery/kubernetes/resources.js';
import { sbError } from '../errors.js';
import { ALWAYS_LEADER, type Leadership } from '../ha/leadership.js';
import { LeaseElector } from '../ha/lease-elector.js';
import type { Switchboard } from '../switchboard.js';
import type { MultiPool } from '../multipool/multi-pool.js';
import type { Logger } from '../telemetry/logger.js';
import type { ParsedFlags } from './flags.js';

/** What `startDiscovery` started. */
export interface StartedDiscovery {
  /** `static`, `file`, `kubernetes` or `kubernetes-selector`. */
  kind: string;
  /** Leadership for readiness (always leader without `--ha-enable-leader-election`). */
  leadership: Leadership;
  /** Stop functions, in start order. */
  closables: Array<{ name: string; close(): Promise<void> }>;
  /**
   * Releases the Lease (active-passive only). Serve pushes it after its front doors so it runs
   * first on shutdown: a standby takes over while this replica drains its streams.
   */
  leaderElection: { name: string; close(): Promise<void> } | null;
  /** The Kubernetes API client, when discovery or leader election made one (closed with `closables`). */
  client: KubeClient | null;
}

/** Starts discovery and HA from the flags; throws SB_ERR_FLAG on contradictory flags. */
export async function startDiscovery(flags: ParsedFlags, config: EndpointPickerConfig, core: Switchboard, logger: Logger): Promise<StartedDiscovery> {
  const v = flags.values;
  const file = String(v['endpoints-file']);
  const selector = String(v['endpoint-selector']);
  const poolName = String(v['pool-name']);
  // Static: --endpoints, the config's endpoints:, or the --demo fleet (added to the pool already).
  const hasStatic = String(v.endpoints).trim() !== '' || config.endpoints.length > 0 || v.demo === true;
  const namespace = String(v['pool-namespace']) || process.env.NAMESPACE || 'default';
  const metricsPortOverride = Math.max(0, Number(v['model-server-metrics-port']));
  const closables: StartedDiscovery['closables'] = [];
  const log = logger as unknown as DiscoveryLogger;

  const sources = [hasStatic && 'static endpoints', file !== '' && '--endpoints-file', selector !== '' && '--endpoint-selector'].filter(Boolean);
  if (sources.length > 1) throw sbError('SB_ERR_FLAG', 'endpoints-file', `choose one endpoint source, got ${sources.join(' and ')}`);

  const kube = lazyKubeClient(String(v.kubeconfig), logger);

  let discovery: Discovery | null = null;
  if (file !== '') {
    discovery = new FileDiscovery({
      path: file,
      pool: core.pool,
      logger: log,
      metricsPortOverride,
      onReload: (outcome) => {
        if (outcome === 'invalid') core.telemetry?.badInput.inc({ source: 'endpoints_file', reason: 'invalid' });
      },
    });
  } else if (selector !== '' || (!hasStatic && poolName !== '')) {
    const mode: KubernetesMode = selector !== '' ? selectorMode(selector, String(v['endpoint-target-ports'])) : poolMode(poolName, String(v['pool-group']));
    discovery = new KubernetesDiscovery({
      client: kube.get(),
      namespace,
      mode,
      target: core,
      base: config,
      metricsPortOverride,
      logger: log,
      hooks: discoveryMetrics(core),
    });
  } else if (String(v['endpoint-target-ports']) !== '') {
    throw sbError('SB_ERR_FLAG', 'endpoint-target-ports', 'needs --endpoint-selector');
  }

  if (discovery === null) core.pool.markSynced();
  else {
    await discovery.start();
    closables.push({ name: `${discovery.kind} discovery`, close: () => discovery.close() });
  }

  const ha = startLeaderElection(flags, kube.get, core, log, logger);
  const client = kube.made();
  if (client !== null) closables.unshift({ name: 'kubernetes client', close: () => client.close() });
  logger.info({ discovery: discovery?.kind ?? 'static', namespace: discovery?.kind.startsWith('kubernetes') ? namespace : undefined }, 'discovery started');
  return { kind: discovery?.kind ?? 'static', leadership: ha.leadership, closables, leaderElection: ha.leaderElection, client };
}

/** The Kubernetes API client, made on first use: only a source or an election that needs the API dials it. */
function lazyKubeClient(kubeconfig: string, logger: Logger): { get: () => KubeClient; made: () => KubeClient | null } {
  let client: KubeClient | null = null;
  return {
    get: (): KubeClient => {
      if (client === null) {
        const conn = resolveConnection({ kubeconfig });
        logger.info({ server: conn.server, source: conn.source }, 'kubernetes API');
        client = new KubeClient(conn);
      }
      return client;
    },
    made: () => client,
  };
}

/** Leader election when `--ha-enable-leader-election` is on (a Lease named after the pool), else always leader. */
function startLeaderElection(
  flags: ParsedFlags,
  kube: () => KubeClient,
  core: Switchboard,
  log: DiscoveryLogger,
  logger: Logger,
): Pick<StartedDiscovery, 'leadership' | 'leaderElection'> {
  const v = flags.values;
  if (v['ha-enable-leader-election'] !== true) return { leadership: ALWAYS_LEADER, leaderElection: null };
  const poolName = String(v['pool-name']);
  const namespace = String(v['pool-namespace']) || process.env.NAMESPACE || 'default';
  const name = String(v['ha-lease-name']) || `switchboard-${poolName || 'default'}`;
  const elector = new LeaseElector({
    client: kube(),
    namespace,
    name,
    logger: log,
    leaseDurationMs: Number(v['ha-lease-duration']),
    renewDeadlineMs: Number(v['ha-renew-deadline']),
    retryPeriodMs: Number(v['ha-retry-period']),
  });
  leaderMetric(core, name, elector);
  elector.start();
  logger.info({ lease: name, namespace, identity: elector.identity }, 'leader election on (active-passive)');
  return { leadership: elector, leaderElection: { name: 'leader election', close: () => elector.stop() } };
}

/**
 * Discovery of several pools (`pools:` in the config): each pool's own source feeds its own
 * core: static endpoints (already in the pool), a file, an InferencePool or a pod selector.
 * The command line's endpoint sources belong to single-pool mode and are refused here.
 */
export async function startPoolsDiscovery(flags: ParsedFlags, config: EndpointPickerConfig, pools: MultiPool, logger: Logger): Promise<StartedDiscovery> {
  const v = flags.values;
  for (const flag of ['endpoints', 'endpoints-file', 'endpoint-selector', 'endpoint-target-ports'])
    if (String(v[flag]).trim() !== '') throw sbError('SB_ERR_FLAG', flag, 'the config declares pools: list endpoint sources in each pool');
  const defaultNamespace = String(v['pool-namespace']) || process.env.NAMESPACE || 'default';
  const metricsPortOverride = Math.max(0, Number(v['model-server-metrics-port']));
  const log = logger as unknown as DiscoveryLogger;
  const closables: StartedDiscovery['closables'] = [];
  const kube = lazyKubeClient(String(v.kubeconfig), logger);
  const kinds = new Set<string>();
  const first = pools.members[0].core;
  try {
    for (const spec of pools.specs) {
      const core = (pools.member(spec.name) as { core: Switchboard }).core;
      const d = spec.discovery;
      let discovery: Discovery | null = null;
      if (d.kind === 'file') {
        discovery = new FileDiscovery({
          path: d.path,
          pool: core.pool,
          logger: log,
          metricsPortOverride,
          onReload: (outcome) => {
            if (outcome === 'invalid') core.telemetry?.badInput.inc({ source: 'endpoints_file', reason: 'invalid' });
          },
        });
      } else if (d.kind === 'inferencePool' || d.kind === 'selector') {
        const mode: KubernetesMode =
          d.kind === 'inferencePool' ? poolMode(d.name, d.group ?? String(v['pool-group'])) : { kind: 'selector', selector: d.matchLabels, targetPorts: d.targetPorts };
        discovery = new KubernetesDiscovery({
          client: kube.get(),
          namespace: d.namespace ?? defaultNamespace,
          mode,
          target: core,
          base: config,
          metricsPortOverride,
          logger: log,
          hooks: discoveryMetrics(core, kinds.has('kubernetes-hooks')),
        });
        kinds.add('kubernetes-hooks');
      }
      if (discovery === null) {
        core.pool.markSynced();
        kinds.add('static');
      } else {
        await discovery.start();
        const started = discovery;
        kinds.add(started.kind.startsWith('kubernetes') ? 'kubernetes' : started.kind);
        closables.push({ name: `${started.kind} discovery (pool ${spec.name})`, close: () => started.close() });
      }
      logger.info({ pool: spec.name, discovery: discovery?.kind ?? 'static' }, 'pool discovery started');
    }
  } catch (err) {
    for (const c of closables) await c.close().catch(() => undefined);
    throw err;
  }
  const ha = startLeaderElection(flags, kube.get, first, log, logger);
  const client = kube.made();
  if (client !== null) closables.unshift({ name: 'kubernetes client', close: () => client.close() });
  return { kind: kinds.has('kubernetes') ? 'kubernetes' : kinds.has('file') ? 'file' : 'static', leadership: ha.leadership, closables, leaderElection: ha.leaderElection, client };
}

function poolMode(name: string, group: string): KubernetesMode {
  if (group !== POOL_GROUP_V1 && group !== X_GROUP) throw sbError('SB_ERR_FLAG', 'pool-group', `must be ${POOL_GROUP_V1} or ${X_GROUP}`);
  return { kind: 'pool', name, group };
}

/** Parses `--endpoint-selector k=v,...` and `--endpoint-target-ports p,...`. */
export function selectorMode(selector: string, ports: string): KubernetesMode {
  const labels: Record<string, string> = {};
  for (const part of selector.split(',')) {
    const m = /^\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*==?\s*([-A-Za-z0-9_.]*)\s*$/.exec(part);
    if (m === null) throw sbError('SB_ERR_FLAG', 'endpoint-selector', `"${part}" is not key=value`);
    labels[m[1]] = m[2];
  }
  const targetPorts = ports
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => {
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw sbError('SB_ERR_FLAG', 'endpoint-target-ports', `"${s}" is not a port`);
      return n;
    });
  if (targetPorts.length === 0) throw sbError('SB_ERR_FLAG', 'endpoint-target-ports', 'needs at least one port with --endpoint-selector');
  if (targetPorts.length > MAX_TARGET_PORTS || new Set(targetPorts).size !== targetPorts.length)
    throw sbError('SB_ERR_FLAG', 'endpoint-target-ports', `1 to ${MAX_TARGET_PORTS} distinct ports`);
  return { kind: 'selector', selector: labels, targetPorts };
}

/** Discovery counters on the core's registry; malformed objects also count as rejected input. `again`: the counter exists (pools share one registry). */
function discoveryMetrics(core: Switchboard, again = false): ReflectorHooks {
  const t = core.telemetry;
  if (t === null) return {};
  const events = again
    ? (t.registry.getSingleMetric('switchboard_discovery_events_total') as Counter<string>)
    : new Counter({
        name: 'switchboard_discovery_events_total',
        help: 'Kubernetes discovery list/watch events and outcomes, by resource.',
        labelNames: ['resource', 'event'],
        registers: [t.registry],
      });
  return {
    count: (resource, event) => events.inc({ resource, event }),
    malformed: (resource) => {
      events.inc({ resource, event: 'malformed' });
      t.badInput.inc({ source: 'kubernetes', reason: `malformed_${resource}` });
    },
  };
}

/** client-go's leader gauge, so existing alerts on it work. */
function leaderMetric(core: Switchboard, name: string, elector: Leadership): void {
  const t = core.telemetry;
  if (t === null) return;
  new Gauge({
    name: 'leader_election_master_status',
    help: 'Whether this replica holds the leader election lease (1) or not (0).',
    labelNames: ['name'],
    registers: [t.registry],
    collect() {
      this.set({ name }, elector.isLeader() ? 1 : 0);
    },
  });
}
