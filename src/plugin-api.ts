/**
 * The plugin-author API: the contracts a filter, scorer, picker or pre-request plugin implements,
 * what it receives (the cycle state, the pool's columns through the handle, its parameters) and
 * the registry it is added to. Exported as `switchboard/plugin-api` and from the package entry.
 */
export type { AnyPlugin, Filter, Picker, Plugin, PluginFactory, PluginHandle, PreRequest, Scorer, TypedName } from './scheduling/framework/plugin.js';
export { Candidates, isFilter, isPicker, isPreRequest, isScorer } from './scheduling/framework/plugin.js';
export { CycleKey, CycleState, type SchedulingRequest } from './scheduling/framework/cycle.js';
export { PREFIX_MATCH, PREFIX_STATS, type PrefixMatch, type PrefixStats } from './scheduling/framework/prefix-match.js';
export { StatsKey, StatsSources, isStatsSource, type StatsSource } from './scheduling/framework/stats.js';
export type { EndpointExplanation, Explanation } from './scheduling/framework/explain.js';
export { Params, parseDurationMs } from './scheduling/params.js';
export { PluginRegistry, registerBuiltinPlugins } from './scheduling/registry.js';
export type { EndpointPool } from './pool/pool.js';
