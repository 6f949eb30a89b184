/** `random-picker`: uniformly random candidates, ignoring scores. See README.md. */
import type { Picker, PluginFactory } from '../../framework/plugin.js';
import { maxEndpointsParam, typed } from '../common.js';

export const RANDOM_PICKER = 'random-picker';

export const randomPicker: PluginFactory = (name, p) => {
  const maxEndpoints = maxEndpointsParam(p);
  let scratch = new Int32Array(16);
  const picker: Picker = {
    typedName: typed(RANDOM_PICKER, name),
    maxEndpoints,
    pick(cycle, cands, _totals, out) {
      return pickRandom(cands.slots, cands.length, Math.min(maxEndpoints, out.length), cycle.rng, out, (n) => {
        if (scratch.length < n) scratch = new Int32Array(n * 2);
        return scratch;
      });
    },
  };
  return picker;
};

/** Partial Fisher-Yates: `want` distinct slots of `slots[0..n)` in random order. */
export function pickRandom(
  slots: Int32Array,
  n: number,
  want: number,
  rng: () => number,
  out: Int32Array,
  scratchFor: (n: number) => Int32Array,
): number {
  const m = Math.min(want, n);
  if (m === 1) {
    out[0] = slots[Math.floor(rng() * n)];
    return 1;
  }
  const s = scratchFor(n);
  s.set(slots.subarray(0, n));
  for (let r = 0; r < m; r++) {
    const j = r + Math.floor(rng() * (n - r));
    const t = s[r];
    s[r] = s[j];
    s[j] = t;
    out[r] = s[r];
  }
  return m;
}
