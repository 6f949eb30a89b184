/**
 * Builds the scheduler's parts from a validated config: instantiates every plugin through the
 * registry, assembles the scheduling profile, and collects the parameters of config-only
 * plugins for the components they configure.
 */
import type { EndpointPickerConfig } from '../config/types.js';
import { defaultConfig } from '../config/defaults.js';
import { sbError } from '../errors.js';
import { didYouMean } from '../util/nearest.js';
import type { AnyPlugin, Filter, PluginHandle, PreRequest } from './framework/plugin.js';
import { isFilter, isPicker, isPreRequest, isScorer } from './framework/plugin.js';
import { SchedulerProfile, type PluginTimer, type WeightedScorer } from './framework/profile.js';
import { MAX_SCORE_PICKER } from './plugins/max-score-picker/index.js';
import { PREFIX_CACHE_SCORER } from './plugins/prefix-cache-scorer/index.js';
import { isSaturationDetector, type SaturationDetector } from './framework/saturation-detector.js';
import { StatsSources } from './framework/stats.js';
import { UTILIZATION_DETECTOR } from './plugins/utilization-detector/index.js';
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
  /** The saturation detector: the configured one, else a default `utilization-detector`. */
  saturationDetector: AnyPlugin & SaturationDetector;
  /** Non-fatal findings (unknown plugin parameters, a profile without scorers), for startup log lines. */
  warnings: string[];
  /** Statistics the plugins publish (prefix index), by key. */
  stats: StatsSources;
  /** The plugins and the profile that actually run, with every default filled in (for `--print-config`). */
  effective: Pick<EndpointPickerConfig, 'plugins' | 'schedulingProfiles'>;
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
  const source = cfg.source ?? 'config';
  const problems: string[] = [];
  cfg.plugins.forEach((spec, i) => {
    if (!registry.has(spec.type)) {
      const hint = didYouMean(spec.type, registry.types());
      problems.push(`plugins[${i}].type: unknown plugin type "${spec.type}"${hint !== '' ? hint : ` (known: ${registry.types().join(', ')})`}`);
      return;
    }
    let params = spec.parameters;
    if (spec.type === PREFIX_CACHE_SCORER && producer !== undefined) params = { ...producer.parameters, ...params };
    let plugin: AnyPlugin;
    try {
      plugin = registry.create(spec.type, spec.name, params, handle);
    } catch (err) {
      problems.push(`plugins[${i}].parameters: plugin "${spec.name}" (${spec.type}): ${(err as Error).message.replace(/^invalid config: plugin "[^"]*" \([^)]*\): /, '')}`);
      return;
    }
    plugins.set(spec.name, plugin);
    const unknown = unreadParams(plugin);
    if (unknown.length > 0) warnings.push(`plugin "${spec.name}" (${spec.type}): unknown parameters ${unknown.join(', ')} ignored`);
  });
  if (problems.length === 1) throw sbError('SB_ERR_CONFIG', source, problems[0]);
  if (problems.length > 1) throw sbError('SB_ERR_CONFIG', source, `${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);

  let profiles = cfg.schedulingProfiles.length > 0 ? cfg.schedulingProfiles : [implicitProfile(cfg, plugins)];
  const effectivePlugins = [...cfg.plugins];
  if (cfg.schedulingProfiles.length === 0 && profiles[0].plugins.length === 0) {
    // Plugins were declared, none of them for scheduling (a data source, flow-control policies):
    // the default scheduling applies rather than picks by tie-break.
    for (const spec of defaultConfig().plugins) {
      if (plugins.has(spec.name)) continue;
      plugins.set(spec.name, registry.create(spec.type, spec.name, spec.parameters, handle));
      effectivePlugins.push(spec);
    }
    profiles = defaultConfig().schedulingProfiles;
    warnings.push('no scheduling plugins configured: using the default scheduling profile');
  }
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
  // Scorers that publish cycle data run before those that read it (the weighted sum does not
  // depend on the order).
  const orderedScorers = producersFirst(scorers, (w) => w.scorer);
  const effectiveRefs = [...spec.plugins];
  // As in the Go EPP, a profile without a picker gets a max-score picker.
  if (picker === null) {
    picker = registry.create(MAX_SCORE_PICKER, MAX_SCORE_PICKER, {}, handle) as AnyPlugin & { maxEndpoints: number };
    if (!plugins.has(MAX_SCORE_PICKER)) effectivePlugins.push({ type: MAX_SCORE_PICKER, name: MAX_SCORE_PICKER, parameters: {} });
    effectiveRefs.push({ pluginRef: MAX_SCORE_PICKER, weight: null });
  }
  if (scorers.length === 0)
    warnings.push(`scheduling profile "${spec.name}" has no scorer: every endpoint that passes the filters scores the same and picks are tie-breaks`);
  if (!isPicker(picker)) throw new Error('unreachable: picker without pick()');
  const profile = new SchedulerProfile(spec.name, filters, orderedScorers, picker, preRequests, opts.timer ?? null);

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
    saturationDetector: detectorOf(cfg, plugins, registry, handle),
    warnings,
    stats: new StatsSources(plugins.values()),
    effective: { plugins: effectivePlugins, schedulingProfiles: [{ name: spec.name, plugins: effectiveRefs }] },
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

/**
 * `items` reordered so every plugin that produces a cycle key comes before the plugins that
 * consume it; otherwise the configured order is kept. A dependency cycle is a config error.
 */
export function producersFirst<T>(items: readonly T[], plugin: (item: T) => AnyPlugin): T[] {
  const out: T[] = [];
  const placed = new Set<T>();
  const visiting = new Set<T>();
  const producersOf = (key: unknown) => items.filter((i) => plugin(i).produces?.includes(key as never) === true);
  const visit = (item: T): void => {
    if (placed.has(item)) return;
    if (visiting.has(item)) throw sbError('SB_ERR_CONFIG', 'schedulingProfiles', `plugins "${plugin(item).typedName.name}" and others need each other's cycle data`);
    visiting.add(item);
    for (const key of plugin(item).consumes ?? []) for (const p of producersOf(key)) if (p !== item) visit(p);
    visiting.delete(item);
    placed.add(item);
    out.push(item);
  };
  // Producers that nobody waits on keep their place relative to the rest: visit in config order.
  for (const item of items) if ((plugin(item).produces?.length ?? 0) > 0) visit(item);
  for (const item of items) visit(item);
  return out;
}

/** The configured saturation detector (which must be one), else the Go EPP's default utilization detector. */
function detectorOf(cfg: EndpointPickerConfig, plugins: Map<string, AnyPlugin>, registry: PluginRegistry, handle: PluginHandle): AnyPlugin & SaturationDetector {
  if (cfg.saturationDetector !== null) {
    const p = plugins.get(cfg.saturationDetector) as AnyPlugin;
    if (!isSaturationDetector(p))
      throw sbError('SB_ERR_CONFIG', 'saturationDetector.pluginRef', `plugin "${p.typedName.name}" (${p.typedName.type}) is not a saturation detector`);
    return p;
  }
  return registry.create(UTILIZATION_DETECTOR, UTILIZATION_DETECTOR, {}, handle) as AnyPlugin & SaturationDetector;
}
