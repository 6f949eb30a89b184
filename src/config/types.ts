/**
 * The EndpointPickerConfig file: a superset of the Go EPP's
 * (`apiVersion: inference.networking.x-k8s.io/v1alpha1`, `kind: EndpointPickerConfig`).
 * Every field the Go EPP accepts loads unchanged; Switchboard's additions are marked.
 */

/** A plugin instance: its registered type, a name (defaults to the type) and its parameters. */
export interface PluginSpec {
  type: string;
  name: string;
  parameters: Record<string, unknown>;
}

/** A plugin reference inside a scheduling profile, with the scorer weight. */
export interface ProfilePluginRef {
  pluginRef: string;
  /** Scorer weight; 1 when omitted (as in the Go EPP). */
  weight: number | null;
}

/** A scheduling profile: the filters, scorers and picker it runs, by reference. */
export interface SchedulingProfileSpec {
  name: string;
  plugins: ProfilePluginRef[];
}

/** A static endpoint (Switchboard extension): `ip:port`, or an object with labels. */
export interface StaticEndpointSpec {
  address: string;
  port: number;
  name?: string;
  labels?: Record<string, string>;
  metricsPort?: number;
  /** KV-events publisher and replay ports of this endpoint (precise-prefix-cache-scorer). */
  kvEventsPort?: number;
  kvEventsReplayPort?: number;
}

/** An objective declared in the config (Switchboard extension; InferenceObjective without Kubernetes). */
export interface ObjectiveSpec {
  name: string;
  /** Priority; negative means sheddable. */
  priority: number;
}

/** A model rewrite rule (Switchboard extension; InferenceModelRewrite without Kubernetes). */
export interface ModelRewriteSpec {
  /** Rule name for the `model_rewrite_name` metric label (the InferenceModelRewrite's name); defaults to the model. */
  name?: string;
  /** Exact model name matched. */
  model: string;
  /** Weighted targets; a total weight of 0 means uniform. */
  targets: Array<{ model: string; weight: number }>;
}

/** The validated config file. */
export interface EndpointPickerConfig {
  apiVersion: string;
  kind: string;
  /** Feature gates (`flowControl`, `enableLegacyMetrics`, `dataLayer`). */
  featureGates: string[];
  plugins: PluginSpec[];
  schedulingProfiles: SchedulingProfileSpec[];
  /** Plugin name of the saturation detector. */
  saturationDetector: string | null;
  /** Data sources (`metrics-data-source`) and their extractors (`core-metrics-extractor`). */
  dataLayer: Array<{ pluginRef: string; extractors: string[] }>;
  /** Flow control settings (used when the `flowControl` feature gate is on), or null when absent. */
  flowControl: FlowControlSpec | null;
  /** Plugin name of the request parser. */
  parser: string | null;
  /** Static endpoints (extension). */
  endpoints: StaticEndpointSpec[];
  /** Objectives (extension). */
  objectives: ObjectiveSpec[];
  /** Model rewrites (extension). */
  modelRewrites: ModelRewriteSpec[];
  /** Prompt guards run in order before scheduling (extension). */
  promptGuards: PromptGuardSpec[];
  /** Per-flow token rate limits (extension), or null. */
  tokenBudgets: TokenBudgetSpec | null;
  /** Several pools, each with its own discovery and scheduling (extension); absent or empty: one pool. */
  pools?: PoolSpec[];
  /** How requests move between pools (extension); used with `pools`. */
  spillover?: SpilloverSpec;
  /** Where the config came from (a file path, `--config-text`), for error messages. */
  source?: string;
}

/** One priority band of the flow-control queue. */
export interface PriorityBandSpec {
  priority: number;
  /** Most bytes of queued request bodies; the Go default is 1 GB. */
  maxBytes: number;
  /** Most queued requests; 0 = no limit. */
  maxRequests: number;
  /** Extension: most queued requests of one flow in this band, so one tenant cannot fill it; 0 = no limit. */
  maxRequestsPerFlow: number;
  /** Fairness policy: a plugin name from `plugins:` or a fairness policy type (default `global-strict-fairness-policy`). */
  fairness: string;
  /** Ordering policy: a plugin name or an ordering policy type (default `fcfs-ordering-policy`). */
  ordering: string;
}

/** The `flowControl:` section. */
export interface FlowControlSpec {
  /** Most bytes queued over all bands; 0 = no limit. */
  maxBytes: number;
  /** Most requests queued over all bands; 0 = no limit. */
  maxRequests: number;
  /** Time a request may wait before it gets 503; 0 = until the client goes away. */
  defaultRequestTTLMs: number;
  /** Bands configured explicitly, highest priority first. */
  priorityBands: PriorityBandSpec[];
  /** Template for priorities without a configured band (its `priority` is unused). */
  defaultPriorityBand: PriorityBandSpec;
  /** Extension: `reject` sheds sheddable requests (429) while saturated; `queue` queues them like the Go EPP. */
  sheddable: 'reject' | 'queue';
  /** Extension: longest wait between dispatch checks while requests are queued (a safety net; completions and scrapes also trigger). */
  recheckIntervalMs: number;
}

/**
 * A prompt guard entry: its type (a `prompt-guard` plugin: `local-policy`, `http-screening`), a
 * name (default: the type) and its parameters, validated by the guard's own factory.
 */
export interface PromptGuardSpec {
  type: string;
  name: string;
  parameters: Record<string, unknown>;
}

/** Token rate limits of one flow; 0 = no limit in that direction. */
export interface TokenLimitSpec {
  inputTokensPerMinute: number;
  outputTokensPerMinute: number;
}

/** The `tokenBudgets:` section. */
export interface TokenBudgetSpec {
  /** Limits of every flow without its own entry; null = such flows are not limited. */
  default: TokenLimitSpec | null;
  /** Limits by fairness id (`x-gateway-inference-fairness-id`). */
  flows: Array<TokenLimitSpec & { fairnessId: string }>;
  /** Flows tracked at once (least recently used are forgotten). */
  maxFlows: number;
}

/** Where one pool's endpoints come from: exactly one of these. */
export type PoolDiscoverySpec =
  | { kind: 'static'; endpoints: StaticEndpointSpec[] }
  | { kind: 'file'; path: string }
  | { kind: 'inferencePool'; name: string; namespace: string | null; group: string | null }
  | { kind: 'selector'; matchLabels: Record<string, string>; targetPorts: number[]; namespace: string | null };

/** What a pool is, for spill order, metrics and dashboards. */
export interface PoolAttributes {
  region: string;
  accelerator: string;
  /** Lower is cheaper (or nearer): the default spill order is by cost rank, then listing order. */
  costRank: number;
}

/** One pool of the `pools:` section (extension). */
export interface PoolSpec {
  name: string;
  discovery: PoolDiscoverySpec;
  /** Engine of endpoints without the engine-type label (`vllm`, `sglang`, `jetstream`, ...); null: the config's default. */
  modelServerType: string | null;
  /** Scheduling profile (a name in `schedulingProfiles`); null: the config's only or first profile. */
  schedulingProfile: string | null;
  /** Saturation detector plugin; null: the config's `saturationDetector`, else the default. */
  saturationDetector: string | null;
  attributes: PoolAttributes;
}

/** Which pools requests of one objective may use, in order. */
export interface SpillPolicySpec {
  /** `x-gateway-inference-objective` value; null for the default policy. */
  objective: string | null;
  /** Pools in order of preference; the first is preferred, the rest are spill targets. */
  pools: string[];
  /**
   * When every allowed pool is saturated: `admit` hands the request to the preferred pool's
   * admission (flow control queues it, legacy shedding drops it if sheddable); `shed` answers 429.
   */
  whenSaturated: 'admit' | 'shed';
}

/** The `spillover:` section (extension). */
export interface SpilloverSpec {
  /** A pool becomes saturated when its detector reads at least this. */
  enterSaturation: number;
  /** A saturated pool takes traffic again once its detector reads below this (hysteresis). */
  exitSaturation: number;
  /** A pool that comes back (was unavailable) gets its traffic back linearly over this time, ms. */
  rampUpMs: number;
  /** The policy of objectives without their own. */
  default: SpillPolicySpec;
  /** Per-objective policies. */
  policies: SpillPolicySpec[];
}
