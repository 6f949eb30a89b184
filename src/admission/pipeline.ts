/**
 * The admission pipeline the director calls once per request: prompt guards, then token
 * budgets, then the gate (legacy shedding or flow control). Cheap refusals come before the
 * queue, so a request that would be denied never holds a queue slot.
 */
import type { Usage } from '../request/usage.js';
import type { Admission, AdmissionRequest, AdmissionVerdict } from './admission.js';
import type { GuardChain } from './guards/guard-chain.js';
import type { TokenBudgets } from './token-budget.js';

export class AdmissionPipeline implements Admission {
  constructor(
    readonly guards: GuardChain | null,
    readonly budgets: TokenBudgets | null,
    readonly gate: Admission,
  ) {}

  bypass(priority: number): boolean {
    return this.guards === null && this.budgets === null && this.gate.bypass?.(priority) === true;
  }

  admit(req: AdmissionRequest): AdmissionVerdict {
    if (this.guards !== null) {
      const g = this.guards.check(req);
      if (g instanceof Promise) return g.then((err) => err ?? this.afterGuards(req));
      if (g !== null) return g;
    }
    return this.afterGuards(req);
  }

  placed(req: AdmissionRequest): void {
    this.gate.placed?.(req);
  }

  finished(req: AdmissionRequest, usage: Usage | null, failed: boolean): void {
    // Usage is what the engine reports; without it, a failed upstream call is not charged.
    if (this.budgets !== null && (usage !== null || !failed)) this.budgets.charge(req, usage);
    this.gate.finished?.(req, usage, failed);
  }

  private afterGuards(req: AdmissionRequest): AdmissionVerdict {
    const refused = this.budgets?.check(req) ?? null;
    return refused ?? this.gate.admit(req);
  }
}
