/**
 * Data-layer contracts: where model-server metrics come from (a data source: scheme, path, TLS)
 * and how a page becomes the pool's columns (an extractor: the engine mappings). The Go EPP's
 * `metrics-data-source` and `core-metrics-extractor` plugin types implement them.
 */
import type { Plugin } from '../../framework/plugin.js';
import type { EngineConfig, EngineRegistry } from '../engines.js';

/** How endpoints' metrics pages are fetched. */
export interface DataSourceSettings {
  scheme: 'http' | 'https';
  path: string;
  insecureSkipVerify: boolean;
}

/** A plugin that says where metrics come from. */
export interface MetricsDataSource extends Plugin {
  readonly settings: DataSourceSettings;
}

/** A plugin that turns pages into signals: the engine mappings. */
export interface MetricsExtractor extends Plugin {
  /** The engine table; `overrides` (the deprecated metric flags) replace the default engine's specs. */
  engines(overrides?: Partial<EngineConfig>): EngineRegistry;
}

export function isMetricsDataSource(p: Plugin): p is MetricsDataSource {
  return typeof (p as Partial<MetricsDataSource>).settings === 'object';
}

export function isMetricsExtractor(p: Plugin): p is MetricsExtractor {
  return typeof (p as Partial<MetricsExtractor>).engines === 'function';
}
