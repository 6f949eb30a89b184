/** `round-robin-picker`: cycles through the candidates, ignoring scores. See README.md. */
import type { Picker, PluginFactory } from '../../framework/plugin.js';
import { maxEndpointsParam, typed } from '../common.js';

export const ROUND_ROBIN_PICKER = 'round-robin-picker';

export const roundRobinPicker: PluginFactory = (name, p) => {
  const maxEndpoints = maxEndpointsParam(p);
  let next = 0;
  const picker: Picker = {
    typedName: typed(ROUND_ROBIN_PICKER, name),
    maxEndpoints,
    pick(_cycle, cands, _totals, out) {
      const n = cands.length;
      const want = Math.min(maxEndpoints, n, out.length);
      const start = next % n;
      next = start + 1;
      for (let r = 0; r < want; r++) out[r] = cands.slots[(start + r) % n];
      return want;
    },
  };
  return picker;
};
