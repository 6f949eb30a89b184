/**
 * Builds the scheduler's parts from its slice of the config and the plugin instances: assembles
 * the scheduling profile (filters, weighted scorers ordered by the cycle data they share, a
 * picker), chooses the saturation detector and the request parser, and records the effective
 * profile. Knows plugins only by contract, except the defaults it fills in.
 */
import type { EndpointPickerConfig, ProfilePluginRef } from '../config/types.js';
import { defaultConfig } from '../config/defaults.js';
import { sbError } from '../errors.js';
import { instantiatePlugins, type PluginInstances } from '../framework/instantiate.js';
import type { Plugin } from '../framework/plugin.js';
import type { PluginRegistry } from '../framework/registry.js';
import { isRequestParser, type ParserMode } from '../request/parser.js';
import { sbWarning, type ConfigWarning } from '../warnings.js';
import type { AnyPlugin, Filter, PluginHandle, PreRequest, PrepareData } from './framework/plugin.js';
import { isFilter, isPicker, isPreRequest, isPrepareData, isScorer } from './framework/plugin.js';
import { SchedulerProfile, type PluginTimer, type WeightedScorer } from './framework/profile.js';
import { isSaturationDetector, type SaturationDetector } from './framework/saturation-detector.js';
import { StatsSources } from './framework/stats.js';

/** The default picker of a profile without one, and the default saturation detector (the Go EPP's). */
const DEFAULT_PICKER = 'max-score-picker';
const DEFAULT_DETECTOR = 'utilization-detector';

/** The config sections scheduling reads. */
export type SchedulingConfig = Pick<EndpointPickerConfig, 'plugins' | 'schedulingProfiles' | 'saturationDetector' | 'parser' | 'source'>;

/** Everything the config decides about scheduling. */
export interface BuiltScheduling {
  /** Instantiated plugins by name (every extension point). */
  plugins: PluginInstances;
  profile: SchedulerProfile;
  /** Body parser: `openai` (inspect JSON) or `passthrough` (route without reading the body). */
  parser: ParserMode;
  /** The saturation detector: the configured one, else a default `utilization-detector`. */
  saturationDetector: AnyPlugin & SaturationDetector;
  /** Non-fatal findings (unknown plugin parameters, a profile without scorers), coded. */
  warnings: ConfigWarning[];
  /** Statistics the plugins publish (prefix index), by key. */
  stats: StatsSources;
  /** The plugins and the profile that actually run, with every default filled in (for `--print-config`). */
  effective: Pick<EndpointPickerConfig, 'plugins' | 'schedulingProfiles'>;
}

/** What building needs besides the config. */
export interface SchedulingBuildOptions {
  registry: PluginRegistry;
  /** Instances already made from `cfg.plugins` (the composition root makes them once); made here when absent. */
  plugins?: PluginInstances;
  /** Where warnings go (also returned). */
  warnings?: ConfigWarning[];
  timer?: PluginTimer | null;
}

/** Builds the profile from `cfg`. Throws coded config errors. */
export function buildScheduling(cfg: SchedulingConfig, handle: PluginHandle, opts: SchedulingBuildOptions): BuiltScheduling {
  const { registry } = opts;
  const warnings = opts.warnings ?? [];
  const source = cfg.source ?? 'config';
  const plugins = new Map(opts.plugins ?? instantiatePlugins(cfg.plugins, registry, handle, warnings, source)) as Map<string, AnyPlugin>;

  let profiles = cfg.schedulingProfiles.length > 0 ? cfg.schedulingProfiles : [implicitProfile(cfg, plugins)];
  const effectivePlugins = [...cfg.plugins];
  if (cfg.schedulingProfiles.length === 0 && profiles[0].plugins.length === 0) {
    // Plugins were declared, none of them for scheduling (a data source, flow-control policies):
    // the default scheduling applies rather than picks by tie-break.
    const defaults = defaultConfig();
    for (const spec of defaults.plugins) {
      if (plugins.has(spec.name)) continue;
      plugins.set(spec.name, registry.create(spec.type, spec.name, spec.parameters, handle, warnings) as AnyPlugin);
      effectivePlugins.push(spec);
    }
    profiles = defaults.schedulingProfiles;
    warnings.push(sbWarning('SB_WARN_DEFAULT_PROFILE'));
  }
  if (profiles.length > 1)
    throw sbError('SB_ERR_CONFIG', 'schedulingProfiles', `Switchboard runs one scheduling profile (single-profile-handler); got ${profiles.length}`);
  const spec = profiles[0];
  const filters: Filter[] = [];
  const scorers: WeightedScorer[] = [];
  const preRequests: PreRequest[] = [];
  const prepares: PrepareData[] = [];
  let picker = null as (AnyPlugin & { maxEndpoints: number }) | null;
  for (const ref of spec.plugins) {
    const p = plugins.get(ref.pluginRef) as AnyPlugin;
    let used = false;
    if (isPrepareData(p)) {
      prepares.push(p);
      used = true;
    }
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
  const effectiveRefs: ProfilePluginRef[] = [...spec.plugins];
  // As in the Go EPP, a profile without a picker gets a max-score picker.
  if (picker === null) {
    picker = registry.create(DEFAULT_PICKER, DEFAULT_PICKER, {}, handle, warnings) as AnyPlugin & { maxEndpoints: number };
    if (!plugins.has(DEFAULT_PICKER)) effectivePlugins.push({ type: DEFAULT_PICKER, name: DEFAULT_PICKER, parameters: {} });
    effectiveRefs.push({ pluginRef: DEFAULT_PICKER, weight: null });
  }
  if (scorers.length === 0) warnings.push(sbWarning('SB_WARN_NO_SCORER', spec.name));
  if (!isPicker(picker)) throw new Error('unreachable: picker without pick()');
  const profile = new SchedulerProfile(spec.name, filters, orderedScorers, picker, preRequests, opts.timer ?? null, producersFirst(prepares, (p) => p));

  let parser: ParserMode = 'openai';
  if (cfg.parser !== null) {
    const p = plugins.get(cfg.parser) as Plugin;
    if (!isRequestParser(p)) throw sbError('SB_ERR_CONFIG', 'parser', `plugin type "${p.typedName.type}" is not a parser (${registry.types('parser').join(', ')})`);
    parser = p.mode;
  }

  return {
    plugins,
    profile,
    parser,
    saturationDetector: detectorOf(cfg, plugins, registry, handle, warnings),
    warnings,
    stats: new StatsSources(plugins.values()),
    effective: { plugins: effectivePlugins, schedulingProfiles: [{ name: spec.name, plugins: effectiveRefs }] },
  };
}

/** With no profiles configured, the Go EPP builds one from every scheduling plugin declared. */
function implicitProfile(cfg: SchedulingConfig, plugins: Map<string, AnyPlugin>) {
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
function detectorOf(cfg: SchedulingConfig, plugins: Map<string, AnyPlugin>, registry: PluginRegistry, handle: PluginHandle, warnings: ConfigWarning[]): AnyPlugin & SaturationDetector {
  if (cfg.saturationDetector !== null) {
    const p = plugins.get(cfg.saturationDetector) as AnyPlugin;
    if (!isSaturationDetector(p))
      throw sbError('SB_ERR_CONFIG', 'saturationDetector.pluginRef', `plugin "${p.typedName.name}" (${p.typedName.type}) is not a saturation detector`);
    return p;
  }
  return registry.create(DEFAULT_DETECTOR, DEFAULT_DETECTOR, {}, handle, warnings) as AnyPlugin & SaturationDetector;
}
