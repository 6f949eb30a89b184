/**
 * Which names the Go EPP's metrics are exported under (`--metrics-names`): the Gateway API
 * Inference Extension names (`inference_objective_*`, `inference_pool_*`, `inference_extension_*`),
 * the llm-d router names that replace them (`llm_d_epp_*`, llm-d-router
 * `pkg/epp/metrics/llm_d_router_metrics.go` @ ebab6879, where the old names are deprecated), or both.
 *
 * Every metric is recorded once. An llm-d name is an alias: a custom metric that, at scrape time,
 * reads the same series as its source and renames it (and a few labels llm-d renamed). While both
 * families are exported the source is collected once per scrape and shared by the two, so the hot
 * path does no extra work and the two families always show the same values.
 */
import type { Registry } from 'prom-client';
import { sbError } from '../errors.js';

/** The families `--metrics-names` chooses from. */
export type MetricNames = 'gie' | 'llm-d' | 'both';

/** Parses `--metrics-names`; `upstream` is accepted for `gie`. */
export function parseMetricNames(value: string): MetricNames {
  if (value === 'gie' || value === 'upstream') return 'gie';
  if (value === 'llm-d' || value === 'both') return value;
  throw sbError('SB_ERR_FLAG', 'metrics-names', `must be gie, llm-d or both, got "${value}"`);
}

/** An llm-d name, its label renames, and labels it adds with a constant value. */
export interface LlmdName {
  name: string;
  rename?: Readonly<Record<string, string>>;
  constant?: Readonly<Record<string, string>>;
}

/** GIE name → llm-d name. Labels llm-d added (fairness_id on per-request series) are not split out. */
export const LLM_D_NAMES: Readonly<Record<string, LlmdName>> = {
  inference_objective_request_total: { name: 'llm_d_epp_request_total' },
  inference_objective_request_error_total: { name: 'llm_d_epp_request_error_total' },
  inference_objective_request_duration_seconds: { name: 'llm_d_epp_request_duration_seconds' },
  inference_objective_request_sizes: { name: 'llm_d_epp_request_size_bytes' },
  inference_objective_response_sizes: { name: 'llm_d_epp_response_size_bytes' },
  inference_objective_input_tokens: { name: 'llm_d_epp_request_input_tokens' },
  inference_objective_output_tokens: { name: 'llm_d_epp_request_output_tokens' },
  inference_objective_prompt_cached_tokens: { name: 'llm_d_epp_request_cached_tokens' },
  inference_objective_running_requests: { name: 'llm_d_epp_request_running' },
  inference_objective_normalized_time_per_output_token_seconds: { name: 'llm_d_epp_request_ntpot_seconds' },
  inference_objective_request_ttft_seconds: { name: 'llm_d_epp_request_ttft_seconds' },
  inference_objective_request_tpot_seconds: { name: 'llm_d_epp_request_streaming_tpot_seconds' },
  inference_pool_average_kv_cache_utilization: { name: 'llm_d_epp_average_kv_cache_utilization' },
  inference_pool_average_queue_size: { name: 'llm_d_epp_average_queue_size' },
  inference_pool_average_running_requests: { name: 'llm_d_epp_average_running_requests' },
  inference_pool_ready_pods: { name: 'llm_d_epp_ready_endpoints' },
  inference_pool_per_pod_queue_size: { name: 'llm_d_epp_per_endpoint_queue_size', rename: { model_server_pod: 'model_server_endpoint' } },
  inference_extension_scheduler_e2e_duration_seconds: { name: 'llm_d_epp_scheduler_e2e_duration_seconds' },
  inference_extension_scheduler_attempts_total: { name: 'llm_d_epp_scheduler_attempts_total', rename: { pod_name: 'endpoint_name' } },
  inference_extension_plugin_duration_seconds: { name: 'llm_d_epp_plugin_duration_seconds' },
  inference_extension_prefix_indexer_size: { name: 'llm_d_epp_prefix_indexer_size' },
  inference_extension_prefix_indexer_hit_ratio: { name: 'llm_d_epp_prefix_indexer_hit_ratio' },
  inference_extension_prefix_indexer_hit_bytes: { name: 'llm_d_epp_prefix_indexer_hit_bytes' },
  inference_extension_info: { name: 'llm_d_epp_info' },
  inference_extension_model_rewrite_decisions_total: { name: 'llm_d_epp_model_rewrite_decisions_total' },
  inference_extension_flow_control_request_queue_duration_seconds: { name: 'llm_d_epp_flow_control_request_queue_duration_seconds' },
  inference_extension_flow_control_queue_size: { name: 'llm_d_epp_flow_control_queue_size' },
  inference_extension_flow_control_queue_bytes: { name: 'llm_d_epp_flow_control_queue_bytes' },
  inference_extension_flow_control_dispatch_cycle_duration_seconds: { name: 'llm_d_epp_flow_control_dispatch_cycle_duration_seconds' },
  // llm-d splits saturation by stage; Switchboard's one value is the gating ("effective") one.
  inference_extension_flow_control_pool_saturation: { name: 'llm_d_epp_flow_control_pool_saturation', constant: { stage: 'effective' } },
};

type Labels = Record<string, string | number>;
interface MetricValue {
  labels?: Labels;
  sharedLabels?: Labels;
  value: number;
  metricName?: string;
  [k: string]: unknown;
}
interface MetricData {
  name: string;
  help: string;
  type: string;
  values?: MetricValue[];
  aggregator: string;
}
/** What the registry reads from a metric: `getForPromString` when present (histograms), else `get`. */
interface Source {
  name: string;
  help: string;
  type: string;
  get(): Promise<MetricData> | MetricData;
  getForPromString?(): Promise<MetricData>;
}

/**
 * Applies `mode` to the metrics already on `registry`: with `llm-d` or `both`, adds an alias for
 * each metric in LLM_D_NAMES; with `llm-d`, removes the GIE-named originals. Call once, after the
 * Go EPP's metrics are registered.
 */
export function applyMetricNames(registry: Registry, mode: MetricNames): void {
  if (mode === 'gie') return;
  for (const metric of registry.getMetricsAsArray() as unknown as Source[]) {
    const target = LLM_D_NAMES[metric.name];
    if (target === undefined) continue;
    const read = shareCollection(metric, mode === 'both');
    registry.registerMetric(alias(metric, target, read) as never);
    if (mode === 'llm-d') registry.removeSingleMetric(metric.name);
  }
}

/**
 * The function the registry calls on `metric`. When `share` is set it is replaced by one that
 * collects once per scrape: a registry scrape asks every metric in one synchronous pass, so the
 * original and its alias get the same promise, which is dropped before the next scrape.
 */
function shareCollection(metric: Source, share: boolean): () => Promise<MetricData> {
  const key = typeof metric.getForPromString === 'function' ? 'getForPromString' : 'get';
  const original = (metric[key] as () => Promise<MetricData> | MetricData).bind(metric);
  if (!share) return async () => original();
  let pending: Promise<MetricData> | null = null;
  const shared = (): Promise<MetricData> => {
    if (pending === null) {
      pending = Promise.resolve(original());
      setImmediate(() => (pending = null));
    }
    // Each reader gets its own copy: prom-client's Histogram.get() rewrites the values it reads.
    return pending.then(copyData);
  };
  (metric as unknown as Record<string, unknown>)[key] = shared;
  return shared;
}

function copyData(d: MetricData): MetricData {
  return {
    ...d,
    values: d.values?.map((v) => ({
      ...v,
      ...(v.labels !== undefined ? { labels: { ...v.labels } } : {}),
      ...(v.sharedLabels !== undefined ? { sharedLabels: { ...v.sharedLabels } } : {}),
    })),
  };
}

function alias(source: Source, target: LlmdName, read: () => Promise<MetricData>): Source {
  const from = source.name;
  const rename = target.rename;
  const constant = target.constant;
  return {
    name: target.name,
    help: source.help,
    type: source.type,
    async get(): Promise<MetricData> {
      const data = await read();
      return {
        name: target.name,
        help: data.help,
        type: data.type,
        aggregator: data.aggregator,
        values: (data.values ?? []).map(({ sharedLabels, ...v }) => {
          // prom-client histograms keep the series labels in sharedLabels and `le` in labels; merged here.
          const labels: Labels = {};
          for (const [k, l] of Object.entries({ ...v.labels, ...sharedLabels })) labels[rename?.[k] ?? k] = l;
          if (constant !== undefined) Object.assign(labels, constant);
          return { ...v, labels, ...(v.metricName !== undefined ? { metricName: target.name + v.metricName.slice(from.length) } : {}) };
        }),
      };
    },
  };
}
