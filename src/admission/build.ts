/**
 * Builds admission from the config: the gate (flow control when the `flowControl` feature gate
 * is on, else the Go EPP's legacy shedding), prompt guards and token budgets.
 */
import { defaultFlowControlSpec } from '../config/admission-sections.js';
import type { EndpointPickerConfig, PromptGuardSpec } from '../config/types.js';
import type { EndpointPool } from '../pool/pool.js';
import type { SaturationDetector } from '../scheduling/framework/saturation-detector.js';
import { LegacyAdmission, type Admission } from './admission.js';
import { FlowController, type FlowControlObserver } from './flow-controller.js';
import { GuardChain, type GuardObserver } from './guards/guard-chain.js';
import { HttpScreeningGuard } from './guards/http-screening.js';
import { LocalPolicyGuard } from './guards/local-policy.js';
import type { PromptGuard } from './guards/prompt-guard.js';
import { AdmissionPipeline } from './pipeline.js';
import { TokenBudgets, type BudgetObserver } from './token-budget.js';
import type { Timers } from './timers.js';

/** Feature gate that turns flow control on. */
export const FLOW_CONTROL_GATE = 'flowControl';

/** What admission is built from besides the config. */
export interface AdmissionDeps {
  pool: EndpointPool;
  detector: SaturationDetector;
  timers: Timers;
  observer: (FlowControlObserver & GuardObserver & BudgetObserver) | null;
}

/** The built admission parts. */
export interface BuiltAdmission {
  pipeline: AdmissionPipeline;
  /** The flow controller, when the feature gate is on. */
  flowControl: FlowController | null;
  /** Closes screening connections. */
  close(): Promise<void>;
}

export function buildAdmission(cfg: EndpointPickerConfig, deps: AdmissionDeps): BuiltAdmission {
  const flowControl = cfg.featureGates.includes(FLOW_CONTROL_GATE)
    ? new FlowController({ pool: deps.pool, detector: deps.detector, spec: cfg.flowControl ?? defaultFlowControlSpec(), timers: deps.timers, observer: deps.observer })
    : null;
  const gate: Admission = flowControl ?? new LegacyAdmission(deps.pool, deps.detector);
  const guards = cfg.promptGuards.map(guardFor);
  const chain = guards.length > 0 ? new GuardChain(guards, deps.observer) : null;
  const budgets = cfg.tokenBudgets !== null ? new TokenBudgets(cfg.tokenBudgets, deps.pool.clock, deps.observer) : null;
  return {
    pipeline: new AdmissionPipeline(chain, budgets, gate),
    flowControl,
    async close() {
      await Promise.all(guards.map((g) => (g instanceof HttpScreeningGuard ? g.close() : undefined)));
    },
  };
}

function guardFor(spec: PromptGuardSpec): PromptGuard {
  return spec.type === 'local-policy' ? new LocalPolicyGuard(spec) : new HttpScreeningGuard(spec);
}
