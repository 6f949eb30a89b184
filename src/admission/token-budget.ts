/**
 * Token budgets: per-flow rate limits on input and output tokens per minute.
 *
 * Each budgeted flow has two token buckets (input, output) holding up to one minute's worth and
 * refilling continuously. A request is admitted while both buckets are positive; its tokens are
 * charged when the response completes, from the response's `usage` (as Envoy AI Gateway does),
 * so a flow can overshoot by what it has in flight and then waits the overshoot off. Without
 * usage (a stream that did not ask for it), input is charged from the prompt-size estimate and
 * output is not charged. A refused request gets 429 with the seconds until the bucket is
 * positive again as `retryAfterSeconds`.
 */
import { LRUCache } from 'lru-cache';
import type { TokenBudgetSpec, TokenLimitSpec } from '../config/types.js';
import type { Usage } from '../request/usage.js';
import { sbError, type SwitchboardError } from '../errors.js';
import type { Clock } from '../pool/pool.js';
import type { AdmissionRequest } from './admission.js';

const MINUTE_MS = 60_000;
/** Prompt bytes per token when estimating (as the director does). */
const BYTES_PER_TOKEN = 4;

/** Metrics sink of budgets. */
export interface BudgetObserver {
  budgetRejected(fairnessId: string, direction: 'input' | 'output'): void;
  budgetCharge(fairnessId: string, input: number, output: number): void;
}

/** Token balances of one flow at clock time `at`. */
interface Buckets {
  input: number;
  output: number;
  at: number;
}

export class TokenBudgets {
  private readonly perFlow: Map<string, TokenLimitSpec>;
  private readonly fallback: TokenLimitSpec | null;
  private readonly buckets: LRUCache<string, Buckets>;

  constructor(
    spec: TokenBudgetSpec,
    private readonly clock: Clock,
    private readonly observer: BudgetObserver | null = null,
  ) {
    this.perFlow = new Map(spec.flows.map((f) => [f.fairnessId, f]));
    this.fallback = spec.default;
    this.buckets = new LRUCache({ max: spec.maxFlows });
  }

  /** Null admits; 429 with `retryAfterSeconds` when the flow's budget is spent. */
  check(req: AdmissionRequest): SwitchboardError | null {
    const limit = this.limitOf(req.fairnessId);
    if (limit === null) return null;
    const b = this.refilled(req.fairnessId, limit);
    const inputWait = waitMs(b.input, limit.inputTokensPerMinute);
    const outputWait = waitMs(b.output, limit.outputTokensPerMinute);
    if (inputWait === 0 && outputWait === 0) return null;
    const direction = inputWait >= outputWait ? 'input' : 'output';
    this.observer?.budgetRejected(req.fairnessId, direction);
    const err = sbError('SB_ERR_RATE_LIMITED', `${req.fairnessId} (${direction} tokens per minute)`);
    err.retryAfterSeconds = Math.max(1, Math.ceil(Math.max(inputWait, outputWait) / 1000));
    return err;
  }

  /** Charges a finished request's tokens to its flow. */
  charge(req: AdmissionRequest, usage: Usage | null): void {
    const limit = this.limitOf(req.fairnessId);
    if (limit === null) return;
    const input = usage !== null ? usage.promptTokens : Math.ceil((req.promptEnd - req.promptStart) / BYTES_PER_TOKEN);
    const output = usage !== null ? usage.completionTokens : 0;
    const b = this.refilled(req.fairnessId, limit);
    if (limit.inputTokensPerMinute > 0) b.input -= input;
    if (limit.outputTokensPerMinute > 0) b.output -= output;
    this.observer?.budgetCharge(req.fairnessId, input, output);
  }

  private limitOf(id: string): TokenLimitSpec | null {
    return this.perFlow.get(id) ?? this.fallback;
  }

  /** The flow's buckets, refilled up to now (new flows start full). */
  private refilled(id: string, limit: TokenLimitSpec): Buckets {
    const now = this.clock.now();
    let b = this.buckets.get(id);
    if (b === undefined) {
      b = { input: limit.inputTokensPerMinute, output: limit.outputTokensPerMinute, at: now };
      this.buckets.set(id, b);
      return b;
    }
    const elapsed = now - b.at;
    if (elapsed > 0) {
      b.input = Math.min(limit.inputTokensPerMinute, b.input + (elapsed * limit.inputTokensPerMinute) / MINUTE_MS);
      b.output = Math.min(limit.outputTokensPerMinute, b.output + (elapsed * limit.outputTokensPerMinute) / MINUTE_MS);
      b.at = now;
    }
    return b;
  }
}

/** Milliseconds until `balance` is positive at `perMinute`; 0 when it is (or there is no limit). */
function waitMs(balance: number, perMinute: number): number {
  if (perMinute <= 0 || balance > 0) return 0;
  // The smallest wait after which the balance is strictly positive.
  return ((-balance + 1) * MINUTE_MS) / perMinute;
}
