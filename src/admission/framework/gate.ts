/**
 * The admission gate contract (extension point `admission-gate`): the last admission step, after
 * prompt guards and token budgets, which sheds, queues or admits a request. A gate plugin is
 * created by its factory from its parameters; admission then opens it once with the services it
 * may use (`GateServices`) and calls the gate it returns for every request with a body.
 *
 * In-tree gates: `legacy-admission-gate` (the Go EPP's default shedding) and `flow-control-gate`
 * (queueing with fairness, the `flowControl` feature gate). A config that declares a plugin of
 * this extension point uses it instead.
 */
import type { FlowControlSpec } from '../../config/types.js';
import type { SwitchboardError } from '../../errors.js';
import type { Plugin } from '../../framework/plugin.js';
import type { EndpointPool } from '../../pool/pool.js';
import type { Usage } from '../../request/usage.js';
import type { SaturationDetector } from '../../scheduling/framework/saturation-detector.js';
import type { Timers } from '../timers.js';
import type { AdmissionRequest } from './admission-request.js';
import type { FlowControlObserver, FlowPolicies } from './flow.js';

export type { AdmissionRequest } from './admission-request.js';

/** What an admission step answers: null admits, an error rejects; a promise when it waits. */
export type AdmissionVerdict = SwitchboardError | null | Promise<SwitchboardError | null>;

/**
 * An admission step: the gate (the last step, after prompt guards and token budgets, which may
 * shed, queue or admit), and the pipeline that runs all steps behind the same contract.
 */
export interface AdmissionGate {
  /**
   * True when a request of `priority` is admitted without looking at it (and needs no hooks):
   * the director then skips building the admission request. Absent = always look.
   */
  bypass?(priority: number): boolean;
  /** Null admits; an error rejects. May wait (flow control, external screening). */
  admit(req: AdmissionRequest): AdmissionVerdict;
  /** An admitted request is on the pool's books now (routed), or will never be (scheduling failed). */
  placed?(req: AdmissionRequest): void;
  /**
   * An admitted and routed request finished; `usage` is from its response when it had one,
   * `failed` when the upstream answered an error or the exchange broke.
   */
  finished?(req: AdmissionRequest, usage: Usage | null, failed: boolean): void;
}

/** What a gate may use, given when admission is built. */
export interface GateServices {
  pool: EndpointPool;
  /** The configured saturation detector (`saturationDetector.pluginRef`, default `utilization-detector`). */
  detector: SaturationDetector;
  /** Timers in the pool clock's milliseconds (virtual in the simulator). */
  timers: Timers;
  /** The config's `flowControl` section (bands, limits, TTL), defaults filled in. */
  flowControl: FlowControlSpec;
  /** The fairness and ordering plugins that the bands name. */
  policies: FlowPolicies;
  /** Metrics sink for queueing; null when telemetry is off. */
  observer: FlowControlObserver | null;
}

/** A plugin of the `admission-gate` extension point. */
export interface AdmissionGatePlugin extends Plugin {
  /** Builds the running gate; called once, when admission is built. */
  open(services: GateServices): AdmissionGate;
}

export function isAdmissionGatePlugin(p: Plugin): p is AdmissionGatePlugin {
  return typeof (p as Partial<AdmissionGatePlugin>).open === 'function';
}
