/** `least-queue-filter`: keeps the endpoints in the lowest band of queue sizes. See README.md. */
import type { Filter, PluginFactory } from '../../framework/plugin.js';
import { typed } from '../common.js';

export const LEAST_QUEUE_FILTER = 'least-queue-filter';

export const leastQueueFilter: PluginFactory = (name, _p, { pool }) => {
  const filter: Filter = {
    typedName: typed(LEAST_QUEUE_FILTER, name),
    filter(_cycle, input, out) {
      let min = Infinity;
      let max = -Infinity;
      for (let k = 0; k < input.length; k++) {
        const q = pool.waiting[input.slots[k]];
        if (q < min) min = q;
        if (q > max) max = q;
      }
      const limit = min + Math.floor((max - min) / input.length);
      for (let k = 0; k < input.length; k++) {
        const s = input.slots[k];
        if (pool.waiting[s] <= limit) out.push(s);
      }
    },
  };
  return filter;
};
