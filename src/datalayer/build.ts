/**
 * Builds the data layer from the plugin instances: the configured metrics data source and
 * extractor (by contract, or the ones `dataLayer.sources` names), else the defaults.
 */
import type { EndpointPickerConfig } from '../config/types.js';
import { sbError } from '../errors.js';
import type { PluginInstances } from '../framework/instantiate.js';
import type { Plugin, PluginHandle } from '../framework/plugin.js';
import type { PluginRegistry } from '../framework/registry.js';
import type { ConfigWarning } from '../warnings.js';
import type { EngineConfig, EngineRegistry } from './engines.js';
import { isMetricsDataSource, isMetricsExtractor, type DataSourceSettings } from './framework/data-layer.js';

const DEFAULT_SOURCE = 'metrics-data-source';
const DEFAULT_EXTRACTOR = 'core-metrics-extractor';

/** What the data layer runs with. */
export interface BuiltDataLayer {
  source: DataSourceSettings;
  engines: EngineRegistry;
}

/** Picks the data source and extractor; `overrides` are the deprecated metric flags. */
export function buildDataLayer(
  cfg: Pick<EndpointPickerConfig, 'dataLayer'>,
  plugins: PluginInstances,
  registry: PluginRegistry,
  handle: PluginHandle,
  overrides: Partial<EngineConfig> | undefined,
  warnings: ConfigWarning[] = [],
): BuiltDataLayer {
  const named = cfg.dataLayer[0];
  const sourcePlugin = named !== undefined ? plugins.get(named.pluginRef) : [...plugins.values()].find(isMetricsDataSource);
  const extractorPlugin =
    named !== undefined && named.extractors.length > 0 ? plugins.get(named.extractors[0]) : [...plugins.values()].find(isMetricsExtractor);
  const source = sourcePlugin ?? registry.create(DEFAULT_SOURCE, DEFAULT_SOURCE, {}, handle, warnings, 'datalayer');
  const extractor = extractorPlugin ?? registry.create(DEFAULT_EXTRACTOR, DEFAULT_EXTRACTOR, {}, handle, warnings, 'datalayer');
  if (!isMetricsDataSource(source)) throw notA(source, 'dataLayer.sources[0].pluginRef', 'metrics data source');
  if (!isMetricsExtractor(extractor)) throw notA(extractor, 'dataLayer.sources[0].extractors[0].pluginRef', 'metrics extractor');
  try {
    return { source: source.settings, engines: extractor.engines(overrides) };
  } catch (err) {
    throw sbError('SB_ERR_CONFIG', `plugin "${extractor.typedName.name}" (${extractor.typedName.type})`, (err as Error).message);
  }
}

function notA(p: Plugin, at: string, what: string): Error {
  return sbError('SB_ERR_CONFIG', at, `plugin "${p.typedName.name}" (${p.typedName.type}) is not a ${what}`);
}
