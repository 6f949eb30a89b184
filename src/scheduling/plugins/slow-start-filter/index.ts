/**
 * `slow-start-filter`: an endpoint that has not answered yet carries at most a few of this
 * picker's requests until it does. See README.md.
 */
import type { Filter, PluginFactory } from '../../framework/plugin.js';
import { typed } from '../common.js';

export const SLOW_START_FILTER = 'slow-start-filter';

export const slowStartFilter: PluginFactory = (name, p, { pool }) => {
  const probes = p.number('probes', 1, { min: 1, integer: true });
  const filter: Filter = {
    typedName: typed(SLOW_START_FILTER, name),
    filter(_cycle, input, out) {
      const answered = pool.signal.answers;
      const inflight = pool.inflight;
      const n = input.length;
      const slots = input.slots;
      // Only while some candidate has answered: at start every endpoint is new, and capping them
      // all would only queue requests at the picker.
      let known = false;
      for (let k = 0; k < n && !known; k++) known = answered[slots[k]] > 0;
      for (let k = 0; k < n; k++) {
        const s = slots[k];
        if (!known || answered[s] > 0 || inflight[s] < probes) out.push(s);
      }
    },
  };
  return filter;
};
