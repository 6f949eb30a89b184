/**
 * What every plugin of every extension point has in common: a typed name, a factory that builds
 * it from validated parameters, and the services the factory may use. Each subsystem adds its
 * own contract on top (scheduling/framework, admission/framework, datalayer/framework).
 */
import type { EndpointPool } from '../pool/pool.js';
import type { Params } from './params.js';

/** The type (registry key) and the configured name of a plugin instance. */
export interface TypedName {
  readonly type: string;
  readonly name: string;
}

/** What every plugin has in common. */
export interface Plugin {
  readonly typedName: TypedName;
}

/** Services a plugin factory may use. */
export interface PluginHandle {
  readonly pool: EndpointPool;
  /** Random numbers in [0,1); seeded in the simulator so runs are reproducible. */
  readonly rng: () => number;
  /** Command-line settings by flag name (after defaults), for plugins a flag configures; absent when embedded. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** One-shot timers in the pool clock's ms (the virtual-time scorecard injects its own); the event loop's when absent. */
  readonly timers?: { set(delayMs: number, fn: () => void): unknown; clear(handle: unknown): void };
}

/**
 * The extension points. A plugin type belongs to one; config references are checked against it
 * (a fairness policy reference must name a fairness policy).
 */
export type ExtensionPoint =
  | 'scheduling' // filters, scorers, pickers, pre-request hooks, saturation detectors
  | 'datalayer' // metrics data sources and extractors
  | 'parser' // request body parsers
  | 'fairness' // flow control: which flow of a band goes next
  | 'ordering' // flow control: which request of a flow goes next
  | 'prompt-guard' // admission: screen prompts before scheduling
  | 'lifecycle' // request-lifecycle hooks: observe each routed request's end
  | 'admission-gate' // admission: the last step, shed, queue or admit
  | 'compat'; // accepted so Go EPP configs load; configures nothing here

/** Builds a plugin from its configured name and parameters; throws on bad parameters. */
export type Factory<P extends Plugin = Plugin> = (name: string, params: Params, handle: PluginHandle) => P;
