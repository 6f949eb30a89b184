/**
 * Builds the scheduler's parts from a validated config: instantiates every plugin through the
 * registry, assembles the scheduling profile, and collects the parameters of config-only
 * plugins for the components they configure.
 */
import type { EndpointPickerConfig } from '../config/types.js';
import { sbError } from '../errors.js';
import type { AnyPlugin, Filter, PluginHandle, PreRequest } from './framework/plugin.js';
import { isFilter, isPicker, isPreRequest, isScorer } from './framework/plugin.js';
import { SchedulerProfile, type PluginTimer, type WeightedScorer } from './framework/profile.js';
import { MAX_SCORE_PICKER } from './plugins/max-score-picker/index.js';
import { PREFIX_CACHE_SCORER } from './plugins/prefix-cache-scorer/index.js';
import { PluginRegistry, registerBuiltinPlugins, unreadParams, type ConfigOnlyPlugin } from './registry.js';

/** Everything the config decides about scheduling and the components around it. */
export interface BuiltScheduling {
  /** Instantiated plugins by name. */
  plugins: Map<string, AnyPlugin>;
  profile: SchedulerProfile;
  /** `metrics-data-source` parameters (scheme, path, insecureSkipVerify), or {}. */
  dataSource: Record<string, unknown>;
  /** `core-metrics-extractor` parameters (defaultEngine, engineLabelKey, engineConfigs), or {}. */
  extractor: Record<string, unknown>;
  /** Body parser: `openai` (inspect JSON) or `passthrough` (route without reading the body). */
  parser: 'openai' | 'passthrough';
  /** The saturation detector plugin, if configured. */
  saturationDetector: AnyPlugin | null;
  /** Non-fatal findings (unknown plugin parameters), for a startup log line. */
  warnings: string[];
}

/** Builds plugins and the profile from `cfg`. Throws coded config errors. */
export function buildScheduling(
  cfg: EndpointPickerConfig,
  handle: PluginHandle,
  opts: { registry?: PluginRegistry; timer?: PluginTimer | null } = {},
): BuiltScheduling {
  const registry = opts.registry ?? registerBuiltinPlugins(new PluginRegistry());
  const warnings: string[] = [];
  const plugins = new Map<string, AnyPlugin>();

  // The Go EPP may carry prefix parameters on the producer; they apply to our combined scorer.
  const producer = cfg.plugins.find((p) => p.type === 'approx-prefix-cache-producer');
  for (const spec of cfg.plugins) {
    let params = spec.parameters;
    if (spec.type === PREFIX_CACHE_SCORER && producer !== undefined) params = { ...producer.parameters, ...params };
    const plugin = registry.create(spec.type, spec.name, params, handle);
    plugins.set(spec.name, plugin);
    const unknown = unreadParams(plugin);
    if (unknown.length > 0) warnings.push(`plugin "${spec.name}" (${spec.type}): unknown parameters ${unknown.join(', ')} ignored`);
  }

  const profiles = cfg.schedulingProfiles.length > 0 ? cfg.schedulingProfiles : [implicitProfile(cfg, plugins)];
  if (profiles.length > 1)
    throw sbError('SB_ERR_CONFIG', 'schedulingProfiles', `Switchboard runs one scheduling profile (single-profile-handler); got ${profiles.length}`);
  const spec = profiles[0];
  const filters: Filter[] = [];
  const scorers: WeightedScorer[] = [];
  const preRequests: PreRequest[] = [];
  let picker = null as (AnyPlugin & { maxEndpoints: number }) | null;
  for (const ref of spec.plugins) {
    const p = plugins.get(ref.pluginRef) as AnyPlugin;
    let used = false;
    if (isFilter(p)) {
      filters.push(p);
      used = true;
    }
    if (isScorer(p)) {
      scorers.push({ scorer: p, weight: ref.weight ?? 1 });
      used = true;
    }
    if (isPicker(p)) {
      if (picker !== null)
        throw sbError('SB_ERR_CONFIG', `schedulingProfiles[0] (${spec.name})`, `two pickers: "${picker.typedName.name}" and "${ref.pluginRef}"`);
      picker = p;
      used = true;
    }
    if (isPreRequest(p)) preRequests.push(p);
    if (!used && !isPreRequest(p))
      throw sbError('SB_ERR_CONFIG', `schedulingProfiles[0] (${spec.name})`, `plugin "${ref.pluginRef}" (${p.typedName.type}) is not a filter, scorer or picker`);
  }
  // The prefix scorer publishes its matches for scorers that read them: it runs first (the
  // weighted sum does not depend on the order).
  scorers.sort((a, b) => Number(b.scorer.typedName.type === PREFIX_CACHE_SCORER) - Number(a.scorer.typedName.type === PREFIX_CACHE_SCORER));
  // As in the Go EPP, a profile without a picker gets a max-score picker.
  if (picker === null) picker = registry.create(MAX_SCORE_PICKER, MAX_SCORE_PICKER, {}, handle) as AnyPlugin & { maxEndpoints: number };
  if (!isPicker(picker)) throw new Error('unreachable: picker without pick()');
  const profile = new SchedulerProfile(spec.name, filters, scorers, picker, preRequests, opts.timer ?? null);

  const params = (type: string): Record<string, unknown> => {
    const p = [...plugins.values()].find((x) => x.typedName.type === type) as ConfigOnlyPlugin | undefined;
    return p?.parameters ?? {};
  };
  const parserName = cfg.parser !== null ? plugins.get(cfg.parser)?.typedName.type : undefined;
  if (parserName !== undefined && parserName !== 'openai-parser' && parserName !== 'passthrough-parser')
    throw sbError('SB_ERR_CONFIG', 'parser', `plugin type "${parserName}" is not a parser (openai-parser, passthrough-parser)`);

  return {
    plugins,
    profile,
    dataSource: params('metrics-data-source'),
    extractor: params('core-metrics-extractor'),
    parser: parserName === 'passthrough-parser' ? 'passthrough' : 'openai',
    saturationDetector: cfg.saturationDetector !== null ? (plugins.get(cfg.saturationDetector) ?? null) : null,
    warnings,
  };
}

/** With no profiles configured, the Go EPP builds one from every scheduling plugin declared. */
function implicitProfile(cfg: EndpointPickerConfig, plugins: Map<string, AnyPlugin>) {
  const refs = cfg.plugins
    .filter((s) => {
      const p = plugins.get(s.name) as AnyPlugin;
      return isFilter(p) || isScorer(p) || isPicker(p);
    })
    .map((s) => ({ pluginRef: s.name, weight: null }));
  return { name: 'default', plugins: refs };
}
