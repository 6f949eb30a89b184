/**
 * The `pools:` and `spillover:` sections (Switchboard extensions): several pools in one picker,
 * each with its own discovery, engine, scheduling profile and attributes, and the policy that
 * moves requests between them. Absent, the config is the single-pool config it always was.
 */
import { didYouMean } from '../util/nearest.js';
import { kindOf, type Validator } from './validator.js';
import type { PluginSpec, PoolDiscoverySpec, PoolSpec, SchedulingProfileSpec, SpillPolicySpec, SpilloverSpec, StaticEndpointSpec } from './types.js';

/** Defaults of `spillover:`: saturated at the detector's own limit, back under 80% of it, 30 s ramp. */
export const SPILL_DEFAULTS = { enterSaturation: 1, exitSaturation: 0.8, rampUpMs: 30_000 } as const;

const POOL_FIELDS = ['name', 'endpoints', 'endpointsFile', 'inferencePool', 'endpointSelector', 'modelServerType', 'schedulingProfile', 'saturationDetector', 'attributes'];
const DISCOVERY_FIELDS = ['endpoints', 'endpointsFile', 'inferencePool', 'endpointSelector'] as const;
/** Pool names become metric label values and Kubernetes-style names: keep them short and plain. */
const POOL_NAME = /^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$/;

/** Reads `pools:`; `parseEndpoint` reads one static endpoint (shared with the top-level `endpoints:`). */
export function parsePools(
  raw: unknown,
  v: Validator,
  ctx: {
    plugins: readonly PluginSpec[];
    profiles: readonly SchedulingProfileSpec[];
    parseEndpoint: (raw: unknown, at: string) => StaticEndpointSpec;
  },
): PoolSpec[] {
  const pluginNames = new Set(ctx.plugins.map((p) => p.name));
  const profileNames = new Set(ctx.profiles.map((p) => p.name));
  const pools = v.items(raw, 'pools', (item, at): PoolSpec => {
    const o = v.object(item, at);
    v.only(o, at, POOL_FIELDS);
    const name = v.string(o.name, `${at}.name`);
    if (!POOL_NAME.test(name)) v.fail(`${at}.name`, `must be lower-case letters, digits, "-", "_" or "." (at most 63), got "${name}"`);
    const discovery = v.attempt(() => poolDiscovery(o, at, v, ctx.parseEndpoint), { kind: 'static', endpoints: [] } as PoolDiscoverySpec);
    const modelServerType = v.attempt(() => v.optString(o.modelServerType, `${at}.modelServerType`), null);
    const schedulingProfile = v.attempt(() => v.optString(o.schedulingProfile, `${at}.schedulingProfile`), null);
    if (schedulingProfile !== null && !profileNames.has(schedulingProfile))
      v.attempt(() => v.fail(`${at}.schedulingProfile`, `no profile named "${schedulingProfile}"${didYouMean(schedulingProfile, profileNames)}`), undefined);
    let saturationDetector: string | null = null;
    if (o.saturationDetector !== undefined && o.saturationDetector !== null) {
      saturationDetector = v.attempt(() => {
        const d = v.object(o.saturationDetector, `${at}.saturationDetector`);
        v.only(d, `${at}.saturationDetector`, ['pluginRef']);
        const ref = v.string(d.pluginRef, `${at}.saturationDetector.pluginRef`);
        if (!pluginNames.has(ref)) v.fail(`${at}.saturationDetector.pluginRef`, `no plugin named "${ref}"${didYouMean(ref, pluginNames)}`);
        return ref;
      }, null);
    }
    const attributes = v.attempt(() => {
      const a = o.attributes === undefined || o.attributes === null ? {} : v.object(o.attributes, `${at}.attributes`);
      v.only(a, `${at}.attributes`, ['region', 'accelerator', 'costRank']);
      return {
        region: v.optString(a.region, `${at}.attributes.region`) ?? '',
        accelerator: v.optString(a.accelerator, `${at}.attributes.accelerator`) ?? '',
        costRank: v.number(a.costRank, `${at}.attributes.costRank`, 0, { min: 0, integer: true }),
      };
    }, { region: '', accelerator: '', costRank: 0 });
    return { name, discovery, modelServerType, schedulingProfile, saturationDetector, attributes };
  });
  const seen = new Set<string>();
  const endpoints = new Map<string, string>();
  pools.forEach((p, i) => {
    if (seen.has(p.name)) v.attempt(() => v.fail(`pools[${i}].name`, `duplicate pool name "${p.name}"`), undefined);
    seen.add(p.name);
    // One endpoint in two pools would be scheduled (and counted in flight) twice.
    if (p.discovery.kind === 'static')
      for (const e of p.discovery.endpoints) {
        const key = `${e.address}:${e.port}`;
        const other = endpoints.get(key);
        if (other !== undefined && other !== p.name) v.attempt(() => v.fail(`pools[${i}].endpoints`, `${key} is already in pool "${other}"`), undefined);
        endpoints.set(key, p.name);
      }
  });
  return pools;
}

function poolDiscovery(o: Record<string, unknown>, at: string, v: Validator, parseEndpoint: (raw: unknown, at: string) => StaticEndpointSpec): PoolDiscoverySpec {
  const given = DISCOVERY_FIELDS.filter((f) => o[f] !== undefined && o[f] !== null);
  if (given.length === 0) v.fail(at, `needs one endpoint source: ${DISCOVERY_FIELDS.join(', ')}`);
  if (given.length > 1) v.fail(at, `choose one endpoint source, got ${given.join(' and ')}`);
  switch (given[0]) {
    case 'endpoints':
      return { kind: 'static', endpoints: v.items(o.endpoints, `${at}.endpoints`, (e, eat) => parseEndpoint(e, eat)) };
    case 'endpointsFile':
      return { kind: 'file', path: v.string(o.endpointsFile, `${at}.endpointsFile`) };
    case 'inferencePool': {
      const ip = typeof o.inferencePool === 'string' ? { name: o.inferencePool } : v.object(o.inferencePool, `${at}.inferencePool`);
      v.only(ip, `${at}.inferencePool`, ['name', 'namespace', 'group']);
      return {
        kind: 'inferencePool',
        name: v.string(ip.name, `${at}.inferencePool.name`),
        namespace: v.optString(ip.namespace, `${at}.inferencePool.namespace`),
        group: v.optString(ip.group, `${at}.inferencePool.group`),
      };
    }
    default: {
      const s = v.object(o.endpointSelector, `${at}.endpointSelector`);
      v.only(s, `${at}.endpointSelector`, ['matchLabels', 'targetPorts', 'namespace']);
      const labels = v.object(s.matchLabels, `${at}.endpointSelector.matchLabels`);
      for (const [k, val] of Object.entries(labels)) if (typeof val !== 'string') v.fail(`${at}.endpointSelector.matchLabels.${k}`, `must be a string, got ${kindOf(val)}`);
      if (Object.keys(labels).length === 0) v.fail(`${at}.endpointSelector.matchLabels`, 'needs at least one label (an empty selector matches every pod)');
      const ports = v.items(s.targetPorts, `${at}.endpointSelector.targetPorts`, (p, pat) => v.port(p, pat));
      if (ports.length === 0) v.fail(`${at}.endpointSelector.targetPorts`, 'needs at least one port');
      return { kind: 'selector', matchLabels: labels as Record<string, string>, targetPorts: ports, namespace: v.optString(s.namespace, `${at}.endpointSelector.namespace`) };
    }
  }
}

/** Reads `spillover:` against the pools declared; without it every request may use every pool, cheapest first. */
export function parseSpillover(raw: unknown, v: Validator, pools: readonly PoolSpec[]): SpilloverSpec | undefined {
  if (raw !== undefined && raw !== null && pools.length === 0) {
    v.attempt(() => v.fail('spillover', 'needs pools'), undefined);
    return undefined;
  }
  if (pools.length === 0) return undefined;
  const names = new Set(pools.map((p) => p.name));
  const o = raw === undefined || raw === null ? {} : v.attempt(() => v.object(raw, 'spillover'), {});
  v.only(o, 'spillover', ['enterSaturation', 'exitSaturation', 'rampUp', 'default', 'policies']);
  const enterSaturation = v.attempt(() => v.number(o.enterSaturation, 'spillover.enterSaturation', SPILL_DEFAULTS.enterSaturation, { min: 0 }), SPILL_DEFAULTS.enterSaturation);
  const exitSaturation = v.attempt(() => v.number(o.exitSaturation, 'spillover.exitSaturation', Math.min(enterSaturation, SPILL_DEFAULTS.exitSaturation * enterSaturation), { min: 0 }), 0);
  if (exitSaturation > enterSaturation)
    v.attempt(() => v.fail('spillover.exitSaturation', `must not exceed enterSaturation (${enterSaturation}), got ${exitSaturation}: traffic would flap`), undefined);
  const rampUpMs = v.attempt(() => v.durationMs(o.rampUp, 'spillover.rampUp', SPILL_DEFAULTS.rampUpMs), SPILL_DEFAULTS.rampUpMs);
  // Default order: cost rank, then the order pools are listed in.
  const byCost = pools.map((p, i) => ({ p, i })).sort((a, b) => a.p.attributes.costRank - b.p.attributes.costRank || a.i - b.i).map((x) => x.p.name);
  const policy = (r: unknown, at: string, withObjective: boolean): SpillPolicySpec => {
    const po = v.object(r, at);
    v.only(po, at, withObjective ? ['objective', 'pools', 'whenSaturated'] : ['pools', 'whenSaturated']);
    const objective = withObjective ? v.string(po.objective, `${at}.objective`) : null;
    const list = po.pools === undefined || po.pools === null ? byCost : v.stringList(po.pools, `${at}.pools`);
    list.forEach((n, i) => {
      if (!names.has(n)) v.fail(`${at}.pools[${i}]`, `no pool named "${n}"${didYouMean(n, names)}`);
    });
    if (list.length === 0) v.fail(`${at}.pools`, 'needs at least one pool');
    if (new Set(list).size !== list.length) v.fail(`${at}.pools`, 'lists a pool twice');
    return { objective, pools: list, whenSaturated: v.oneOf(po.whenSaturated, `${at}.whenSaturated`, 'admit', ['admit', 'shed'] as const) };
  };
  const def = o.default === undefined || o.default === null ? { objective: null, pools: byCost, whenSaturated: 'admit' as const } : v.attempt(() => policy(o.default, 'spillover.default', false), { objective: null, pools: byCost, whenSaturated: 'admit' as const });
  const policies = v.items(o.policies, 'spillover.policies', (r, at) => policy(r, at, true));
  const objectives = new Set<string>();
  policies.forEach((p, i) => {
    if (objectives.has(p.objective as string)) v.attempt(() => v.fail(`spillover.policies[${i}].objective`, `duplicate objective "${p.objective}"`), undefined);
    objectives.add(p.objective as string);
  });
  return { enterSaturation, exitSaturation, rampUpMs, default: def, policies };
}
