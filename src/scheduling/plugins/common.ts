/** Helpers shared by several built-in plugins. */
import type { Params } from '../../framework/params.js';

/**
 * Turns raw "less is better" values in `out[0..n)` into min-max scores in place:
 * `(max - v) / (max - min)`, and 1.0 for everyone when all values are equal (the Go EPP's
 * queue and running-requests formula).
 */
export function inverseMinMax(out: Float64Array, n: number): void {
  let min = Infinity;
  let max = -Infinity;
  for (let k = 0; k < n; k++) {
    const v = out[k];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  if (range === 0) {
    out.fill(1, 0, n);
    return;
  }
  for (let k = 0; k < n; k++) out[k] = (max - out[k]) / range;
}

/** Reads the common picker parameter `maxNumOfEndpoints` (default 1). */
export function maxEndpointsParam(p: Params): number {
  return p.number('maxNumOfEndpoints', 1, { min: 1, max: 64, integer: true });
}

/** Builds the `typedName` of a plugin. */
export function typed(type: string, name: string): { type: string; name: string } {
  return Object.freeze({ type, name });
}
