/**
 * Fault injection for a simulated pod: failing or slow /metrics, stale metrics, 5xx answers and
 * connections dropped mid-stream. Decisions come from a seeded generator, so a test run is
 * reproducible.
 */
import { sbError } from '../../errors.js';
import { Rng } from '../../util/random.js';

/** Faults of one pod; every field defaults to "no fault". */
export interface PodFaults {
  /** Probability that an inference request is answered with `errorStatus` at once. */
  errorRate: number;
  /** Status of injected inference errors (500, 503, ...). */
  errorStatus: number;
  /** Probability that a streamed response's connection is destroyed part-way. */
  dropRate: number;
  /** Probability that /metrics answers 500. */
  metricsFailRate: number;
  /** Delay before /metrics answers, ms. */
  metricsDelayMs: number;
  /** /metrics shows the engine state as it was this many ms ago. */
  metricsLagMs: number;
  /** /health answers 503 while true. */
  unhealthy: boolean;
}

export const NO_FAULTS: Readonly<PodFaults> = Object.freeze({
  errorRate: 0,
  errorStatus: 500,
  dropRate: 0,
  metricsFailRate: 0,
  metricsDelayMs: 0,
  metricsLagMs: 0,
  unhealthy: false,
});

/** Checks and completes a partial fault set; throws SB_ERR_CONFIG on bad values. */
export function resolveFaults(partial: Partial<PodFaults> = {}): PodFaults {
  const f: PodFaults = { ...NO_FAULTS, ...partial };
  for (const k of ['errorRate', 'dropRate', 'metricsFailRate'] as const) {
    if (!(f[k] >= 0 && f[k] <= 1)) throw sbError('SB_ERR_CONFIG', `faults.${k}`, 'must be a probability in [0, 1]');
  }
  for (const k of ['metricsDelayMs', 'metricsLagMs'] as const) {
    if (!(f[k] >= 0 && f[k] <= 600_000)) throw sbError('SB_ERR_CONFIG', `faults.${k}`, 'must be in [0, 600000] ms');
  }
  if (!Number.isInteger(f.errorStatus) || f.errorStatus < 500 || f.errorStatus > 599) {
    throw sbError('SB_ERR_CONFIG', 'faults.errorStatus', 'must be a 5xx status');
  }
  return f;
}

/** Rolls the dice for one pod's faults. */
export class FaultDice {
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  /** True with probability `p`. */
  roll(p: number): boolean {
    return p > 0 && this.rng.next() < p;
  }

  /** After how many tokens to drop a stream of `n` tokens (at least 1, at most n - 1 when n > 1). */
  dropAfter(n: number): number {
    return n <= 1 ? 1 : this.rng.int(1, n - 1);
  }
}
