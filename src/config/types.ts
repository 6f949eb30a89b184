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
}

/** An objective declared in the config (Switchboard extension; InferenceObjective without Kubernetes). */
export interface ObjectiveSpec {
  name: string;
  /** Priority; negative means sheddable. */
  priority: number;
}

/** A model rewrite rule (Switchboard extension; InferenceModelRewrite without Kubernetes). */
export interface ModelRewriteSpec {
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
  /** Flow control settings, validated by the admission layer. */
  flowControl: Record<string, unknown> | null;
  /** Plugin name of the request parser. */
  parser: string | null;
  /** Static endpoints (extension). */
  endpoints: StaticEndpointSpec[];
  /** Objectives (extension). */
  objectives: ObjectiveSpec[];
  /** Model rewrites (extension). */
  modelRewrites: ModelRewriteSpec[];
}
