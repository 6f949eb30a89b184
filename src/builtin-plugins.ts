/**
 * Every in-tree plugin, in one explicit list, by extension point. No plugin module registers
 * itself on import; a new plugin is one line here (plus its folder with README and test).
 */
import { edfOrderingPolicy, EDF_ORDERING_POLICY } from './admission/plugins/edf-ordering-policy/index.js';
import { fcfsOrderingPolicy, FCFS_ORDERING_POLICY } from './admission/plugins/fcfs-ordering-policy/index.js';
import { flowControlGate, FLOW_CONTROL_GATE } from './admission/plugins/flow-control-gate/index.js';
import { globalStrictFairnessPolicy, GLOBAL_STRICT_FAIRNESS_POLICY } from './admission/plugins/global-strict-fairness-policy/index.js';
import { httpScreening, HTTP_SCREENING } from './admission/plugins/http-screening/index.js';
import { legacyAdmissionGate, LEGACY_ADMISSION_GATE } from './admission/plugins/legacy-admission-gate/index.js';
import { localPolicy, LOCAL_POLICY } from './admission/plugins/local-policy/index.js';
import { roundRobinFairnessPolicy, ROUND_ROBIN_FAIRNESS_POLICY } from './admission/plugins/round-robin-fairness-policy/index.js';
import { coreMetricsExtractor, CORE_METRICS_EXTRACTOR } from './datalayer/plugins/core-metrics-extractor/index.js';
import { metricsDataSource, METRICS_DATA_SOURCE } from './datalayer/plugins/metrics-data-source/index.js';
import { endpointLatencyObserver, ENDPOINT_LATENCY_OBSERVER } from './director/plugins/endpoint-latency-observer/index.js';
import { accessLog, ACCESS_LOG } from './director/plugins/access-log/index.js';
import { PluginRegistry } from './framework/registry.js';
import { openaiParser, OPENAI_PARSER, passthroughParser, PASSTHROUGH_PARSER } from './request/plugins/parsers.js';
import { boundedLoadFilter, BOUNDED_LOAD_FILTER } from './scheduling/plugins/bounded-load-filter/index.js';
import { concurrencyDetector, CONCURRENCY_DETECTOR } from './scheduling/plugins/concurrency-detector/index.js';
import { compatPlugin, GO_EPP_COMPAT_TYPES } from './scheduling/plugins/go-epp-compat/index.js';
import { decodeHeadroomFilter, DECODE_HEADROOM_FILTER } from './scheduling/plugins/decode-headroom-filter/index.js';
import { headerBasedTestingFilter, HEADER_BASED_TESTING_FILTER } from './scheduling/plugins/header-based-testing-filter/index.js';
import { inflightLoadScorer, INFLIGHT_LOAD_SCORER } from './scheduling/plugins/inflight-load-scorer/index.js';
import { kvCacheUtilizationScorer, KV_CACHE_SCORER, KV_CACHE_SCORER_LEGACY } from './scheduling/plugins/kv-cache-utilization-scorer/index.js';
import { leastQueueFilter, LEAST_QUEUE_FILTER } from './scheduling/plugins/least-queue-filter/index.js';
import { loraAffinityScorer, LORA_AFFINITY_SCORER } from './scheduling/plugins/lora-affinity-scorer/index.js';
import { lowQueueFilter, LOW_QUEUE_FILTER } from './scheduling/plugins/low-queue-filter/index.js';
import { slowStartFilter, SLOW_START_FILTER } from './scheduling/plugins/slow-start-filter/index.js';
import { maxScorePicker, MAX_SCORE_PICKER } from './scheduling/plugins/max-score-picker/index.js';
import { prefillWorkScorer, PREFILL_WORK_SCORER } from './scheduling/plugins/prefill-work-scorer/index.js';
import { prefixCacheScorer, PREFIX_CACHE_SCORER } from './scheduling/plugins/prefix-cache-scorer/index.js';
import { precisePrefixCacheScorer, PRECISE_PREFIX_CACHE_SCORER } from './scheduling/plugins/precise-prefix-cache-scorer/index.js';
import { prefixRendezvousScorer, PREFIX_RENDEZVOUS_SCORER } from './scheduling/plugins/prefix-rendezvous-scorer/index.js';
import { queueScorer, QUEUE_SCORER } from './scheduling/plugins/queue-scorer/index.js';
import { randomPicker, RANDOM_PICKER } from './scheduling/plugins/random-picker/index.js';
import { roundRobinPicker, ROUND_ROBIN_PICKER } from './scheduling/plugins/round-robin-picker/index.js';
import { runningRequestsScorer, RUNNING_REQUESTS_SCORER } from './scheduling/plugins/running-requests-size-scorer/index.js';
import { tokenLoadScorer, TOKEN_LOAD_SCORER } from './scheduling/plugins/token-load-scorer/index.js';
import { utilizationDetector, UTILIZATION_DETECTOR } from './scheduling/plugins/utilization-detector/index.js';
import { weightedRandomPicker, WEIGHTED_RANDOM_PICKER } from './scheduling/plugins/weighted-random-picker/index.js';

/** Registers every in-tree plugin in `r` (a fresh registry when omitted). */
export function registerBuiltinPlugins(r: PluginRegistry = new PluginRegistry()): PluginRegistry {
  // Scheduling: scorers, pickers, filters, saturation detectors.
  r.register(QUEUE_SCORER, 'scheduling', queueScorer)
    .register(KV_CACHE_SCORER, 'scheduling', kvCacheUtilizationScorer)
    .alias(KV_CACHE_SCORER_LEGACY, KV_CACHE_SCORER)
    .register(RUNNING_REQUESTS_SCORER, 'scheduling', runningRequestsScorer)
    .register(LORA_AFFINITY_SCORER, 'scheduling', loraAffinityScorer)
    .register(PREFIX_CACHE_SCORER, 'scheduling', prefixCacheScorer, { paramsFrom: 'approx-prefix-cache-producer' })
    .register(PRECISE_PREFIX_CACHE_SCORER, 'scheduling', precisePrefixCacheScorer)
    .register(PREFIX_RENDEZVOUS_SCORER, 'scheduling', prefixRendezvousScorer)
    .register(PREFILL_WORK_SCORER, 'scheduling', prefillWorkScorer)
    .register(TOKEN_LOAD_SCORER, 'scheduling', tokenLoadScorer)
    .register(INFLIGHT_LOAD_SCORER, 'scheduling', inflightLoadScorer)
    .register(MAX_SCORE_PICKER, 'scheduling', maxScorePicker)
    .register(RANDOM_PICKER, 'scheduling', randomPicker)
    .register(WEIGHTED_RANDOM_PICKER, 'scheduling', weightedRandomPicker)
    .register(ROUND_ROBIN_PICKER, 'scheduling', roundRobinPicker)
    .register(HEADER_BASED_TESTING_FILTER, 'scheduling', headerBasedTestingFilter)
    .register(LOW_QUEUE_FILTER, 'scheduling', lowQueueFilter)
    .register(SLOW_START_FILTER, 'scheduling', slowStartFilter)
    .register(LEAST_QUEUE_FILTER, 'scheduling', leastQueueFilter)
    .register(BOUNDED_LOAD_FILTER, 'scheduling', boundedLoadFilter)
    .register(DECODE_HEADROOM_FILTER, 'scheduling', decodeHeadroomFilter)
    .register(UTILIZATION_DETECTOR, 'scheduling', utilizationDetector)
    .register(CONCURRENCY_DETECTOR, 'scheduling', concurrencyDetector);
  // Data layer: where metrics come from and how pages become signals.
  r.register(METRICS_DATA_SOURCE, 'datalayer', metricsDataSource).register(CORE_METRICS_EXTRACTOR, 'datalayer', coreMetricsExtractor);
  // Request parsers.
  r.register(OPENAI_PARSER, 'parser', openaiParser).register(PASSTHROUGH_PARSER, 'parser', passthroughParser);
  // Flow control: fairness between flows, ordering within a flow.
  r.register(GLOBAL_STRICT_FAIRNESS_POLICY, 'fairness', globalStrictFairnessPolicy)
    .register(ROUND_ROBIN_FAIRNESS_POLICY, 'fairness', roundRobinFairnessPolicy)
    .register(FCFS_ORDERING_POLICY, 'ordering', fcfsOrderingPolicy)
    .register(EDF_ORDERING_POLICY, 'ordering', edfOrderingPolicy);
  // Prompt guards (strict: a misspelt parameter must not silently let prompts through).
  r.register(LOCAL_POLICY, 'prompt-guard', localPolicy, { strictParams: true }).register(HTTP_SCREENING, 'prompt-guard', httpScreening, { strictParams: true });
  // Request-lifecycle hooks: observe each routed request's end (both doors and the scorecard).
  r.register(ENDPOINT_LATENCY_OBSERVER, 'lifecycle', endpointLatencyObserver);
  r.register(ACCESS_LOG, 'lifecycle', accessLog);
  // Admission gates: the last admission step (shed, queue or admit).
  r.register(LEGACY_ADMISSION_GATE, 'admission-gate', legacyAdmissionGate).register(FLOW_CONTROL_GATE, 'admission-gate', flowControlGate);
  // Go EPP types that configure nothing here.
  for (const type of GO_EPP_COMPAT_TYPES) r.register(type, 'compat', compatPlugin(type));
  return r;
}
