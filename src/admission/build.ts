/**
 * Builds admission from its slice of the config and the plugin instances: the gate (a declared
 * `admission-gate` plugin, else flow control when the `flowControl` feature gate is on, else the
 * Go EPP's legacy shedding), prompt guards and token budgets. Gates, policies and guards are
 * plugins, created through the registry; this file names only the default gates.
 */
import { defaultFlowControlSpec } from '../config/admission-sections.js';
import type { EndpointPickerConfig } from '../config/types.js';
import { isSwitchboardError, sbError } from '../errors.js';
import type { PluginInstances } from '../framework/instantiate.js';
import type { Plugin, PluginHandle } from '../framework/plugin.js';
import type { PluginRegistry } from '../framework/registry.js';
import type { EndpointPool } from '../pool/pool.js';
import type { SaturationDetector } from '../scheduling/framework/saturation-detector.js';
import type { ConfigWarning } from '../warnings.js';
import { FlowController } from './flow-controller.js';
import { isFairnessPolicy, isOrderingPolicy, type FlowControlObserver, type FlowPolicies } from './framework/flow.js';
import { isAdmissionGatePlugin, type AdmissionGatePlugin } from './framework/gate.js';
import { isPromptGuard, type PromptGuard } from './framework/prompt-guard.js';
import { GuardChain, type GuardObserver } from './guards/guard-chain.js';
import { AdmissionPipeline } from './pipeline.js';
import { TokenBudgets, type BudgetObserver } from './token-budget.js';
import type { Timers } from './timers.js';

/** Feature gate that turns flow control on. */
export const FLOW_CONTROL_FEATURE = 'flowControl';
/** The default gates: with the feature gate, and without. */
const FLOW_CONTROL_GATE = 'flow-control-gate';
const LEGACY_GATE = 'legacy-admission-gate';

/** The config sections admission reads. */
export type AdmissionConfig = Pick<EndpointPickerConfig, 'featureGates' | 'flowControl' | 'promptGuards' | 'tokenBudgets' | 'source'>;

/** What admission is built from besides the config. */
export interface AdmissionDeps {
  pool: EndpointPool;
  detector: SaturationDetector;
  timers: Timers;
  observer: (FlowControlObserver & GuardObserver & BudgetObserver) | null;
  /** The registry and the config's plugin instances: policy references and guards resolve through them. */
  registry: PluginRegistry;
  plugins: PluginInstances;
  handle: PluginHandle;
  warnings?: ConfigWarning[];
}

/** The built admission parts. */
export interface BuiltAdmission {
  pipeline: AdmissionPipeline;
  /** The flow controller, when the feature gate is on. */
  flowControl: FlowController | null;
  /** Closes screening connections. */
  close(): Promise<void>;
}

export function buildAdmission(cfg: AdmissionConfig, deps: AdmissionDeps): BuiltAdmission {
  const source = cfg.source ?? 'config';
  const gate = gatePlugin(cfg, deps, source).open({
    pool: deps.pool,
    detector: deps.detector,
    timers: deps.timers,
    flowControl: cfg.flowControl ?? defaultFlowControlSpec(),
    policies: flowPolicies(deps, source),
    observer: deps.observer,
  });
  const flowControl = gate instanceof FlowController ? gate : null;
  const guards = cfg.promptGuards.map((g, i): PromptGuard => {
    try {
      const p = deps.registry.create(g.type, g.name, g.parameters, deps.handle, deps.warnings, 'prompt-guard');
      if (!isPromptGuard(p)) throw sbError('SB_ERR_CONFIG', source, `promptGuards[${i}].type: "${g.type}" is not a prompt guard`);
      return p;
    } catch (err) {
      throw located(err, source, `promptGuards[${i}]`);
    }
  });
  const chain = guards.length > 0 ? new GuardChain(guards, deps.observer) : null;
  const budgets = cfg.tokenBudgets !== null ? new TokenBudgets(cfg.tokenBudgets, deps.pool.clock, deps.observer) : null;
  return {
    pipeline: new AdmissionPipeline(chain, budgets, gate),
    flowControl,
    async close() {
      await Promise.all(guards.map((g) => g.close?.()));
    },
  };
}

/** The config's declared gate (at most one), else the default for the feature gates. */
function gatePlugin(cfg: AdmissionConfig, deps: AdmissionDeps, source: string): AdmissionGatePlugin {
  const declared = [...deps.plugins.values()].filter((p) => deps.registry.pointOf(p.typedName.type) === 'admission-gate');
  if (declared.length > 1) {
    throw sbError('SB_ERR_CONFIG', source, `plugins: more than one admission gate (${declared.map((p) => p.typedName.name).join(', ')}); declare at most one`);
  }
  const fallback = cfg.featureGates.includes(FLOW_CONTROL_FEATURE) ? FLOW_CONTROL_GATE : LEGACY_GATE;
  const p = declared[0] ?? deps.registry.create(fallback, fallback, {}, deps.handle, deps.warnings, 'admission-gate');
  if (!isAdmissionGatePlugin(p)) throw sbError('SB_ERR_CONFIG', source, `plugins: "${p.typedName.name}" (type ${p.typedName.type}) is not an admission gate`);
  return p;
}

/**
 * A band's policy reference is a declared plugin's name, or a policy type created with default
 * parameters (the Go EPP's system defaults). One instance per reference.
 */
function flowPolicies(deps: AdmissionDeps, source: string): FlowPolicies {
  const made = new Map<string, Plugin>();
  const resolve = (ref: string, point: 'fairness' | 'ordering', field: string): Plugin => {
    let p = deps.plugins.get(ref) ?? made.get(ref);
    if (p === undefined) {
      try {
        p = deps.registry.create(ref, ref, {}, deps.handle, deps.warnings, point);
      } catch (err) {
        throw located(err, source, `flowControl ${field} "${ref}"`);
      }
      made.set(ref, p);
    }
    if (deps.registry.pointOf(p.typedName.type) !== point)
      throw sbError('SB_ERR_CONFIG', source, `flowControl ${field} "${ref}": plugin type "${p.typedName.type}" is not a ${point} policy (${deps.registry.types(point).join(', ')})`);
    return p;
  };
  return {
    fairness: (ref) => {
      const p = resolve(ref, 'fairness', 'fairnessPolicyRef');
      if (!isFairnessPolicy(p)) throw sbError('SB_ERR_CONFIG', source, `fairnessPolicyRef "${ref}" is not a fairness policy`);
      return p;
    },
    ordering: (ref) => {
      const p = resolve(ref, 'ordering', 'orderingPolicyRef');
      if (!isOrderingPolicy(p)) throw sbError('SB_ERR_CONFIG', source, `orderingPolicyRef "${ref}" is not an ordering policy`);
      return p;
    },
  };
}

/** A plugin error re-issued with the config path of the entry that made it. */
function located(err: unknown, source: string, at: string): Error {
  if (!isSwitchboardError(err)) return err as Error;
  const param = (err as { param?: { key: string; reason: string } }).param;
  if (param !== undefined) return sbError('SB_ERR_CONFIG', source, `${at}.${param.key}: ${param.reason}`);
  return sbError('SB_ERR_CONFIG', source, `${at}: ${err.message.replace(/^invalid config: /, '')}`);
}
