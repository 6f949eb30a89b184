/**
 * Plugin registry: factories by type name, filled by one explicit list of the built-ins.
 * No plugin module registers itself on import.
 */
import { sbError } from '../errors.js';
import type { AnyPlugin, PluginFactory, PluginHandle } from './framework/plugin.js';
import { Params } from './params.js';
import { boundedLoadFilter, BOUNDED_LOAD_FILTER } from './plugins/bounded-load-filter/index.js';
import { concurrencyDetector, CONCURRENCY_DETECTOR } from './plugins/concurrency-detector/index.js';
import { headerBasedTestingFilter, HEADER_BASED_TESTING_FILTER } from './plugins/header-based-testing-filter/index.js';
import { inflightLoadScorer, INFLIGHT_LOAD_SCORER } from './plugins/inflight-load-scorer/index.js';
import {
  kvCacheUtilizationScorer,
  KV_CACHE_SCORER,
  KV_CACHE_SCORER_LEGACY,
} from './plugins/kv-cache-utilization-scorer/index.js';
import { leastQueueFilter, LEAST_QUEUE_FILTER } from './plugins/least-queue-filter/index.js';
import { loraAffinityScorer, LORA_AFFINITY_SCORER } from './plugins/lora-affinity-scorer/index.js';
import { lowQueueFilter, LOW_QUEUE_FILTER } from './plugins/low-queue-filter/index.js';
import { maxScorePicker, MAX_SCORE_PICKER } from './plugins/max-score-picker/index.js';
import { prefillWorkScorer, PREFILL_WORK_SCORER } from './plugins/prefill-work-scorer/index.js';
import { prefixCacheScorer, PREFIX_CACHE_SCORER } from './plugins/prefix-cache-scorer/index.js';
import { prefixRendezvousScorer, PREFIX_RENDEZVOUS_SCORER } from './plugins/prefix-rendezvous-scorer/index.js';
import { queueScorer, QUEUE_SCORER } from './plugins/queue-scorer/index.js';
import { randomPicker, RANDOM_PICKER } from './plugins/random-picker/index.js';
import { roundRobinPicker, ROUND_ROBIN_PICKER } from './plugins/round-robin-picker/index.js';
import { runningRequestsScorer, RUNNING_REQUESTS_SCORER } from './plugins/running-requests-size-scorer/index.js';
import { tokenLoadScorer, TOKEN_LOAD_SCORER } from './plugins/token-load-scorer/index.js';
import { utilizationDetector, UTILIZATION_DETECTOR } from './plugins/utilization-detector/index.js';
import { weightedRandomPicker, WEIGHTED_RANDOM_PICKER } from './plugins/weighted-random-picker/index.js';

/**
 * Plugin types the Go EPP configures that act outside the scheduling profile here (data layer,
 * parsers, profile handler, flow-control policies). They load so Go EPP configs work unchanged;
 * the parts of Switchboard they configure read their parameters.
 */
export const CONFIG_ONLY_TYPES = [
  'single-profile-handler',
  'metrics-data-source',
  'core-metrics-extractor',
  'approx-prefix-cache-producer',
  'inflight-load-producer',
  'openai-parser',
  'passthrough-parser',
  'fcfs-ordering-policy',
  'edf-ordering-policy',
  'global-strict-fairness-policy',
  'round-robin-fairness-policy',
  'static-usage-limit-policy',
] as const;

/** A config-only plugin keeps its parameters for the component it configures. */
export interface ConfigOnlyPlugin extends AnyPlugin {
  readonly parameters: Record<string, unknown>;
}

/** Factories by type name. */
export class PluginRegistry {
  private readonly factories = new Map<string, PluginFactory>();

  /** Registers `factory` under `type`; a type can be registered once. */
  register(type: string, factory: PluginFactory): void {
    if (this.factories.has(type)) throw new Error(`plugin type "${type}" registered twice`);
    this.factories.set(type, factory);
  }

  /** Whether `type` is registered. */
  has(type: string): boolean {
    return this.factories.has(type);
  }

  /** Registered type names, sorted. */
  types(): string[] {
    return [...this.factories.keys()].sort();
  }

  /** Builds a plugin; unknown types and bad parameters throw coded errors naming the plugin. */
  create(type: string, name: string, params: Record<string, unknown>, handle: PluginHandle): AnyPlugin {
    const factory = this.factories.get(type);
    if (factory === undefined) throw sbError('SB_ERR_UNKNOWN_PLUGIN', type, this.types().join(', '));
    const p = new Params(name, params);
    let plugin: AnyPlugin;
    try {
      plugin = factory(name, p, handle);
    } catch (err) {
      throw sbError('SB_ERR_CONFIG', `plugin "${name}" (${type})`, (err as Error).message);
    }
    return Object.assign(plugin, { [kUnreadParams]: p.unread() });
  }
}

/** Registers every in-tree plugin. */
export function registerBuiltinPlugins(r: PluginRegistry): PluginRegistry {
  r.register(QUEUE_SCORER, queueScorer);
  r.register(KV_CACHE_SCORER, kvCacheUtilizationScorer);
  r.register(KV_CACHE_SCORER_LEGACY, kvCacheUtilizationScorer);
  r.register(RUNNING_REQUESTS_SCORER, runningRequestsScorer);
  r.register(LORA_AFFINITY_SCORER, loraAffinityScorer);
  r.register(PREFIX_CACHE_SCORER, prefixCacheScorer);
  r.register(PREFIX_RENDEZVOUS_SCORER, prefixRendezvousScorer);
  r.register(PREFILL_WORK_SCORER, prefillWorkScorer);
  r.register(TOKEN_LOAD_SCORER, tokenLoadScorer);
  r.register(INFLIGHT_LOAD_SCORER, inflightLoadScorer);
  r.register(MAX_SCORE_PICKER, maxScorePicker);
  r.register(RANDOM_PICKER, randomPicker);
  r.register(WEIGHTED_RANDOM_PICKER, weightedRandomPicker);
  r.register(ROUND_ROBIN_PICKER, roundRobinPicker);
  r.register(HEADER_BASED_TESTING_FILTER, headerBasedTestingFilter);
  r.register(LOW_QUEUE_FILTER, lowQueueFilter);
  r.register(LEAST_QUEUE_FILTER, leastQueueFilter);
  r.register(UTILIZATION_DETECTOR, utilizationDetector);
  r.register(CONCURRENCY_DETECTOR, concurrencyDetector);
  r.register(BOUNDED_LOAD_FILTER, boundedLoadFilter);
  for (const type of CONFIG_ONLY_TYPES) r.register(type, configOnly(type));
  return r;
}

function configOnly(type: string): PluginFactory {
  return (name, params) => {
    const p: ConfigOnlyPlugin = { typedName: Object.freeze({ type, name }), parameters: params.all() };
    return p;
  };
}

/** Where `create` leaves the parameter names the factory did not read. */
export const kUnreadParams = Symbol('unreadParams');

/** Parameter names of `plugin`'s config that its factory did not read. */
export function unreadParams(plugin: AnyPlugin): string[] {
  return (plugin as { [kUnreadParams]?: string[] })[kUnreadParams] ?? [];
}
