/** `max-score-picker`: the highest totals, ties broken uniformly at random. See README.md. */
import type { Picker, PluginFactory } from '../../framework/plugin.js';
import { maxEndpointsParam, typed } from '../common.js';

export const MAX_SCORE_PICKER = 'max-score-picker';

export const maxScorePicker: PluginFactory = (name, p) => {
  const maxEndpoints = maxEndpointsParam(p);
  let used = new Uint8Array(16);
  const picker: Picker = {
    typedName: typed(MAX_SCORE_PICKER, name),
    maxEndpoints,
    pick(cycle, cands, totals, out) {
      const n = cands.length;
      const want = Math.min(maxEndpoints, n, out.length);
      const rng = cycle.rng;
      if (want === 1) {
        // One pass: keep the best, replacing it with probability 1/ties on an equal score.
        let best = 0;
        let ties = 1;
        for (let k = 1; k < n; k++) {
          const t = totals[k];
          if (t > totals[best]) {
            best = k;
            ties = 1;
          } else if (t === totals[best] && rng() * ++ties < 1) best = k;
        }
        out[0] = cands.slots[best];
        return 1;
      }
      if (used.length < n) used = new Uint8Array(n * 2);
      used.fill(0, 0, n);
      for (let r = 0; r < want; r++) {
        let best = -1;
        let ties = 0;
        for (let k = 0; k < n; k++) {
          if (used[k] === 1) continue;
          if (best < 0 || totals[k] > totals[best]) {
            best = k;
            ties = 1;
          } else if (totals[k] === totals[best] && rng() * ++ties < 1) best = k;
        }
        used[best] = 1;
        out[r] = cands.slots[best];
      }
      return want;
    },
  };
  return picker;
};
