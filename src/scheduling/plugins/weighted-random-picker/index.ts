/** `weighted-random-picker`: random candidates with probability rising with score. See README.md. */
import type { Picker, PluginFactory } from '../../framework/plugin.js';
import { maxEndpointsParam, typed } from '../common.js';
import { pickRandom } from '../random-picker/index.js';

export const WEIGHTED_RANDOM_PICKER = 'weighted-random-picker';

export const weightedRandomPicker: PluginFactory = (name, p) => {
  const maxEndpoints = maxEndpointsParam(p);
  let keys = new Float64Array(16);
  let scratch = new Int32Array(16);
  const picker: Picker = {
    typedName: typed(WEIGHTED_RANDOM_PICKER, name),
    maxEndpoints,
    pick(cycle, cands, totals, out) {
      const n = cands.length;
      const want = Math.min(maxEndpoints, n, out.length);
      if (keys.length < n) keys = new Float64Array(n * 2);
      let positive = 0;
      for (let k = 0; k < n; k++) {
        const w = totals[k];
        // A-Res (Efraimidis-Spirakis): key = U^(1/w); the top keys are a weighted sample.
        keys[k] = w > 0 ? Math.pow(cycle.rng(), 1 / w) : 0;
        if (w > 0) positive++;
      }
      if (positive === 0) {
        return pickRandom(cands.slots, n, want, cycle.rng, out, (m) => {
          if (scratch.length < m) scratch = new Int32Array(m * 2);
          return scratch;
        });
      }
      for (let r = 0; r < want; r++) {
        let best = 0;
        for (let k = 1; k < n; k++) if (keys[k] > keys[best]) best = k;
        out[r] = cands.slots[best];
        keys[best] = -1;
      }
      return want;
    },
  };
  return picker;
};
