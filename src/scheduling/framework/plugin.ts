/**
 * Plugin contracts of the scheduler, after the Go EPP's seams: filters narrow the candidates,
 * scorers give each candidate a score in [0,1] (weighted and summed by the profile), a picker
 * chooses from the totals. Plugins are built by factories registered by type name.
 *
 * Candidates are slots of the endpoint pool, held in reusable typed arrays: scoring reads the
 * pool's columns directly and allocates nothing per request.
 */
import type { Factory, Plugin as BasePlugin } from '../../framework/plugin.js';
import type { Candidates } from './candidates.js';
import type { CycleKey, CycleState } from './cycle.js';

export { Candidates } from './candidates.js';

export type { PluginHandle, TypedName } from '../../framework/plugin.js';

/** A scheduling plugin: the common plugin, plus the cycle data it shares. */
export interface Plugin extends BasePlugin {
  /** Cycle data this plugin writes (`cycle.set`): the profile runs it before the plugins that read it. */
  readonly produces?: readonly CycleKey<unknown>[];
  /** Cycle data this plugin reads (`cycle.get`). */
  readonly consumes?: readonly CycleKey<unknown>[];
}

/**
 * Computes cycle data before the filters run (the Go EPP's PrepareData step), over every candidate,
 * so a filter can read what a scorer would otherwise compute only after filtering (e.g. the
 * prefix match a headroom filter weighs against load).
 */
export interface PrepareData extends Plugin {
  prepare(cycle: CycleState, cands: Candidates): void;
}

/** Narrows the candidate list. Writes survivors into `out`; must not add slots not in `input`. */
export interface Filter extends Plugin {
  filter(cycle: CycleState, input: Candidates, out: Candidates): void;
}

/** Scores every candidate: `out[k]` for `cands.slots[k]`, in [0,1] (the profile clamps). */
export interface Scorer extends Plugin {
  score(cycle: CycleState, cands: Candidates, out: Float64Array): void;
}

/** Chooses endpoints from scored candidates, best first. Writes slots into `out`; returns how many. */
export interface Picker extends Plugin {
  pick(cycle: CycleState, cands: Candidates, totals: Float64Array, out: Int32Array): number;
  /** Most endpoints one pick returns (the fallback list length). */
  readonly maxEndpoints: number;
}

/** Runs after a successful pick, e.g. to record the prefix the chosen endpoint now caches. */
export interface PreRequest extends Plugin {
  preRequest(cycle: CycleState, picked: Int32Array, count: number): void;
}

/** Anything else a plugin may be (config-only plugins such as data sources). */
export type AnyPlugin = Plugin & Partial<PrepareData & Filter & Scorer & Picker & PreRequest>;

/** Builds a scheduling plugin from its configured name and parameters; throws on bad parameters. */
export type PluginFactory = Factory<AnyPlugin>;

export function isPrepareData(p: AnyPlugin): p is AnyPlugin & PrepareData {
  return typeof p.prepare === 'function';
}

export function isFilter(p: AnyPlugin): p is AnyPlugin & Filter {
  return typeof p.filter === 'function';
}

export function isScorer(p: AnyPlugin): p is AnyPlugin & Scorer {
  return typeof p.score === 'function';
}

export function isPicker(p: AnyPlugin): p is AnyPlugin & Picker {
  return typeof p.pick === 'function';
}

export function isPreRequest(p: AnyPlugin): p is AnyPlugin & PreRequest {
  return typeof p.preRequest === 'function';
}
