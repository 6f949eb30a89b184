/**
 * Runs the configured prompt guards in order; the first denial wins. Synchronous guards run
 * inline, so a chain of local policies adds no promise to the request path.
 */
import type { SwitchboardError } from '../../errors.js';
import type { AdmissionRequest } from '../admission.js';
import { FAILED_OPEN, GuardInput, type GuardVerdict, type PromptGuard } from '../framework/prompt-guard.js';

/** How a guard decided, for metrics. */
export type GuardDecision = 'allow' | 'deny' | 'error_allowed' | 'error_denied';

/** Metrics sink of the guards. */
export interface GuardObserver {
  guard(name: string, decision: GuardDecision, seconds: number): void;
}

export class GuardChain {
  constructor(
    readonly guards: readonly PromptGuard[],
    private readonly observer: GuardObserver | null,
  ) {}

  /** Null allows; otherwise the first guard's denial. */
  check(req: AdmissionRequest): SwitchboardError | null | Promise<SwitchboardError | null> {
    return this.run(new GuardInput(req), 0);
  }

  private run(input: GuardInput, from: number): SwitchboardError | null | Promise<SwitchboardError | null> {
    for (let i = from; i < this.guards.length; i++) {
      const g = this.guards[i];
      const t0 = performance.now();
      const v = g.check(input);
      if (v instanceof Promise)
        return v.then((res) => {
          const err = this.record(g, res, t0);
          return err ?? this.run(input, i + 1);
        });
      const err = this.record(g, v, t0);
      if (err !== null) return err;
    }
    return null;
  }

  private record(g: PromptGuard, v: GuardVerdict, t0: number): SwitchboardError | null {
    const err = v === FAILED_OPEN ? null : v;
    if (this.observer !== null) {
      const decision: GuardDecision =
        v === null ? 'allow' : v === FAILED_OPEN ? 'error_allowed' : v.code === 'SB_ERR_GUARD_UNAVAILABLE' ? 'error_denied' : 'deny';
      this.observer.guard(g.name, decision, (performance.now() - t0) / 1000);
    }
    return err;
  }
}
