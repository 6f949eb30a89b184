/**
 * The plugin-author API: every extension point's contract, what a factory receives (its
 * parameters, the pool through the handle), typed keys for sharing data, and the registry a
 * plugin is added to. Exported as `switchboard/plugin-api` and from the package entry.
 *
 * | extension point | contract | examples (src/…/plugins) |
 * |---|---|---|
 * | scheduling | Filter, Scorer, Picker, PreRequest, SaturationDetector | queue-scorer, max-score-picker |
 * | datalayer | MetricsDataSource, MetricsExtractor; signals in pool/signals.ts | metrics-data-source |
 * | parser | RequestParser | openai-parser |
 * | fairness / ordering | FairnessPolicy (FlowPicker), OrderingPolicy (FlowQueue) | round-robin-fairness-policy |
 * | admission-gate | AdmissionGatePlugin (opens an AdmissionGate) | legacy-admission-gate, flow-control-gate |
 * | prompt-guard | PromptGuard | local-policy, http-screening |
 * | telemetry | StatsSource (StatsKey) | the prefix index's PREFIX_STATS |
 * | lifecycle | LifecycleHook (ResponseObservation, FirstTokenObservation) | endpoint-latency-observer |
 */
export type { ExtensionPoint, Factory, Plugin as BasePlugin, PluginHandle, TypedName } from './framework/plugin.js';
export { Params, ParamError } from './framework/params.js';
export { PluginRegistry, type RegisterOptions } from './framework/registry.js';
export { instantiatePlugins, type PluginInstances } from './framework/instantiate.js';
export { registerBuiltinPlugins } from './builtin-plugins.js';
export { sbWarning, warningTable, type ConfigWarning, type WarningCode } from './warnings.js';
// scheduling
export type { AnyPlugin, Filter, Picker, Plugin, PluginFactory, PreRequest, Scorer } from './scheduling/framework/plugin.js';
export { Candidates, isFilter, isPicker, isPreRequest, isScorer } from './scheduling/framework/plugin.js';
export { CycleKey, CycleState, type SchedulingRequest } from './scheduling/framework/cycle.js';
export { PREFIX_MATCH, PREFIX_STATS, type PrefixMatch, type PrefixStats } from './scheduling/framework/prefix-match.js';
export { StatsKey, StatsSources, isStatsSource, type StatsSource } from './scheduling/framework/stats.js';
export { isSaturationDetector, type SaturationDetector } from './scheduling/framework/saturation-detector.js';
export type { EndpointExplanation, Explanation } from './scheduling/framework/explain.js';
// data layer and signals
export { isMetricsDataSource, isMetricsExtractor, type DataSourceSettings, type MetricsDataSource, type MetricsExtractor } from './datalayer/framework/data-layer.js';
export { EngineRegistry, type EngineConfig } from './datalayer/engines.js';
export { SIGNALS, SIGNAL_NAMES, type SignalName, type SignalSpec } from './pool/signals.js';
export type { EndpointPool } from './pool/pool.js';
export type { Endpoint } from './pool/endpoint.js';
// request parsing
export { isRequestParser, type ParserMode, type RequestParser } from './request/parser.js';
// admission
export { Flow, QueuedRequest, isFairnessPolicy, isOrderingPolicy, type FairnessPolicy, type FlowPicker, type FlowQueue, type OrderingPolicy } from './admission/framework/flow.js';
export { isAdmissionGatePlugin, type AdmissionGate, type AdmissionGatePlugin, type AdmissionRequest, type AdmissionVerdict, type GateServices } from './admission/framework/gate.js';
export type { FlowControlObserver, FlowPolicies, QueueOutcome } from './admission/framework/flow.js';
export { FAILED_OPEN, GuardInput, isPromptGuard, type GuardVerdict, type PromptGuard } from './admission/framework/prompt-guard.js';
// request lifecycle
export { isLifecycleHook, type FirstTokenObservation, type LifecycleHook, type ResponseObservation } from './director/framework/lifecycle-hook.js';
export type { Outcome } from './director/types.js';
export type { Usage } from './request/usage.js';
export { parseDurationMs } from './util/duration.js';
