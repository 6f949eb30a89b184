/**
 * Open-loop arrival times for a scenario's stages.
 *
 * - poisson: exponential gaps with mean 1/rate.
 * - gamma: gaps ~ Gamma(shape k = burstiness, scale 1/(rate·k)), as vLLM's `--burstiness`;
 *   the coefficient of variation of the gaps is 1/sqrt(k), so k < 1 gives bursts.
 * - constant: evenly spaced, 1/rate apart.
 *
 * Each stage starts its own process at the stage boundary.
 */
import type { Rng } from '../util/random.js';
import type { ArrivalsSpec } from './scenario.js';

/** One arrival: when (ms from the run start) and in which stage. */
export interface Arrival {
  at: number;
  stage: number;
  /** Index among all arrivals (stable across policies). */
  index: number;
}

/** All arrivals of `spec`, at most `max`. */
export function planArrivals(spec: ArrivalsSpec, rng: Rng, max: number): Arrival[] {
  const out: Arrival[] = [];
  let stageStart = 0;
  spec.stages.forEach((stage, si) => {
    const end = stageStart + stage.duration * 1000;
    if (stage.rate > 0) {
      const meanGap = 1000 / stage.rate;
      let t = stageStart;
      // A constant process puts its first arrival at the stage start.
      let skipGap = spec.process === 'constant';
      for (;;) {
        if (!skipGap) {
          if (spec.process === 'constant') t += meanGap;
          else if (spec.process === 'gamma') t += rng.gamma(spec.burstiness, meanGap / spec.burstiness);
          else t += rng.exponential(meanGap);
        }
        skipGap = false;
        if (t >= end || out.length >= max) break;
        out.push({ at: t, stage: si, index: out.length });
      }
    }
    stageStart = end;
  });
  return out;
}
