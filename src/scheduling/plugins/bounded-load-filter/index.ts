/**
 * `bounded-load-filter`: keeps endpoints whose load is within a bound of the candidates' mean,
 * so affinity scorers (prefix, LoRA) can be weighted strongly without piling onto one pod.
 * See README.md.
 */
import type { Filter, PluginFactory } from '../../framework/plugin.js';
import { typed } from '../common.js';

export const BOUNDED_LOAD_FILTER = 'bounded-load-filter';

export const boundedLoadFilter: PluginFactory = (name, p, { pool }) => {
  const slack = p.number('slack', 0.25, { min: 0 });
  const minSlack = p.number('minSlack', 2, { min: 0 });
  const filter: Filter = {
    typedName: typed(BOUNDED_LOAD_FILTER, name),
    filter(_cycle, input, out) {
      const n = input.length;
      const slots = input.slots;
      const { waiting, running } = pool;
      let sum = 0;
      let min = Infinity;
      for (let k = 0; k < n; k++) {
        const s = slots[k];
        const load = waiting[s] + running[s] + pool.unseenLoad(s);
        sum += load;
        if (load < min) min = load;
      }
      // Consistent hashing with bounded loads: at most (1 + slack) x mean, never below min + minSlack.
      const bound = Math.max((sum / n) * (1 + slack), min + minSlack);
      for (let k = 0; k < n; k++) {
        const s = slots[k];
        if (waiting[s] + running[s] + pool.unseenLoad(s) <= bound) out.push(s);
      }
    },
  };
  return filter;
};
