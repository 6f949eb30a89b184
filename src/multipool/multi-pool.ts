/**
 * Several pools in one picker (`pools:` in the config): one core per pool, made by
 * `createSwitchboard` from the shared config with the pool's profile, saturation detector and
 * engine, so each pool has its own endpoints, scrape loop, plugin instances (prefix index, LoRA
 * state: affinity stays within a pool) and admission. They report into one metrics registry,
 * the pool as label `name`. The multi-pool director in front chooses the pool per request.
 */
import type { EndpointPickerConfig, PoolSpec, SpillPolicySpec, SpilloverSpec } from '../config/types.js';
import { SPILL_DEFAULTS } from '../config/pools.js';
import { sbError } from '../errors.js';
import type { Endpoint } from '../pool/endpoint.js';
import { EndpointPool, systemClock } from '../pool/pool.js';
import { createSwitchboard, type Switchboard, type SwitchboardOptions } from '../switchboard.js';
import { poolDecisions } from '../telemetry/dashboard/decisions.js';
import type { Telemetry } from '../telemetry/metrics.js';
import { PoolMetrics } from '../telemetry/pool-metrics.js';
import type { ConfigWarning } from '../warnings.js';
import { MultiPoolDirector, type CompiledPolicy, type PoolMember } from './director.js';
import { PoolGate } from './pool-gate.js';

/** The assembled pools and the director in front of them. */
export interface MultiPool {
  readonly members: readonly PoolMember[];
  /** Pool specs in config order (discovery reads them). */
  readonly specs: readonly PoolSpec[];
  readonly director: MultiPoolDirector;
  /** The one registry every pool reports into (the first pool's), or null without telemetry. */
  readonly telemetry: Telemetry | null;
  readonly warnings: ConfigWarning[];
  /** The member named `name`. */
  member(name: string): PoolMember | undefined;
  /**
   * Every pool's endpoints in one membership view (no metrics): what the proxy keeps upstream
   * connections and its model list for, and checks before a retry. Scheduling never reads it.
   */
  readonly union: EndpointPool;
  /** True once every pool's discovery delivered its first complete view. */
  synced(): boolean;
  /** Stops every pool's scrape loop and admission. */
  close(): Promise<void>;
}

/** Core settings shared by every pool (`config` must have `pools`). */
export type MultiPoolOptions = Omit<SwitchboardOptions, 'endpoints' | 'poolName' | 'sharedTelemetry' | 'defaultEngine'>;

/** Builds one core per pool and the director over them. Throws coded config errors. */
export function createMultiPool(opts: MultiPoolOptions): MultiPool {
  const cfg = opts.config;
  const specs = cfg.pools ?? [];
  if (specs.length === 0) throw sbError('SB_ERR_CONFIG', 'pools', 'needs at least one pool');
  const spill: SpilloverSpec = cfg.spillover ?? {
    ...SPILL_DEFAULTS,
    default: { objective: null, pools: specs.map((p) => p.name), whenSaturated: 'admit' },
    policies: [],
  };
  const clock = opts.clock ?? systemClock;
  const stalenessMs = opts.stalenessMs ?? 2000;
  const members: PoolMember[] = [];
  const warnings: ConfigWarning[] = [];
  let telemetry: Telemetry | null = null;
  try {
    for (const spec of specs) {
      const core = createSwitchboard({
        ...opts,
        config: poolConfig(cfg, spec),
        endpoints: [],
        poolName: spec.name,
        // The dashboard's decisions name the pool that made them.
        decisions: opts.decisions === undefined || opts.decisions === null ? null : poolDecisions(opts.decisions, spec.name),
        sharedTelemetry: telemetry ?? undefined,
        telemetry: opts.telemetry,
        ...(spec.modelServerType !== null ? { defaultEngine: spec.modelServerType } : {}),
      });
      telemetry ??= core.telemetry;
      for (const w of core.warnings) if (!warnings.some((x) => x.code === w.code && x.message === w.message)) warnings.push(w);
      const gate = new PoolGate(core.pool, core.built.saturationDetector, { ...spill, stalenessMs });
      members.push({ name: spec.name, core, gate });
    }
  } catch (err) {
    for (const m of members) void m.core.close();
    throw err;
  }
  const byName = new Map(members.map((m) => [m.name, m]));
  const compile = (p: SpillPolicySpec): CompiledPolicy => ({
    label: p.objective ?? 'default',
    members: p.pools.map((n) => byName.get(n) as PoolMember),
    whenSaturated: p.whenSaturated,
  });
  const metrics =
    telemetry === null
      ? null
      : new PoolMetrics(
          telemetry.registry,
          members.map((m, i) => ({
            name: m.name,
            region: specs[i].attributes.region,
            accelerator: specs[i].attributes.accelerator,
            costRank: specs[i].attributes.costRank,
            saturation: () => {
              m.gate.evaluate(clock.now());
              return m.gate.saturation();
            },
            saturated: () => m.gate.saturated(),
            available: () => m.gate.available(),
          })),
        );
  const director = new MultiPoolDirector(clock, compile(spill.default), spill.policies.map(compile), metrics);
  const union = new EndpointPool(clock);
  const unsubscribe = members.map((m) => mirror(m.core.pool, union));
  const synced = () => members.every((m) => m.core.pool.synced);
  return {
    members,
    specs,
    director,
    telemetry,
    warnings,
    union,
    synced,
    member: (name) => byName.get(name),
    async close() {
      for (const u of unsubscribe) u();
      await Promise.all(members.map((m) => m.core.close()));
    },
  };
}

/** Keeps `union` holding `pool`'s endpoints (same keys, names, labels); returns the unsubscribe function. */
function mirror(pool: EndpointPool, union: EndpointPool): () => void {
  const spec = (ep: Endpoint) => ({ name: ep.name, address: ep.address, port: ep.port, labels: ep.labels, metricsPort: ep.metricsPort });
  for (const ep of pool.endpoints()) union.upsert(spec(ep));
  return pool.subscribe((e) => {
    if (e.type === 'removed') union.remove(e.endpoint.key);
    else union.upsert(spec(e.endpoint));
  });
}

/** The config one pool's core runs: its profile, detector and static endpoints, no pools. */
export function poolConfig(cfg: EndpointPickerConfig, spec: PoolSpec): EndpointPickerConfig {
  const profileName = spec.schedulingProfile ?? cfg.schedulingProfiles[0]?.name ?? null;
  const schedulingProfiles = profileName === null ? [] : cfg.schedulingProfiles.filter((p) => p.name === profileName);
  return {
    ...cfg,
    schedulingProfiles,
    saturationDetector: spec.saturationDetector ?? cfg.saturationDetector,
    endpoints: spec.discovery.kind === 'static' ? spec.discovery.endpoints : [],
    pools: undefined,
    spillover: undefined,
  };
}

/** True when the config declares pools. */
export function hasPools(cfg: EndpointPickerConfig): boolean {
  return (cfg.pools?.length ?? 0) > 0;
}
