/** `low-queue-filter`: keeps endpoints whose waiting queue is at most a threshold. See README.md. */
import type { Filter, PluginFactory } from '../../framework/plugin.js';
import { typed } from '../common.js';

export const LOW_QUEUE_FILTER = 'low-queue-filter';

export const lowQueueFilter: PluginFactory = (name, p, { pool }) => {
  const threshold = p.number('threshold', 128, { min: 0 });
  const filter: Filter = {
    typedName: typed(LOW_QUEUE_FILTER, name),
    filter(_cycle, input, out) {
      for (let k = 0; k < input.length; k++) {
        const s = input.slots[k];
        if (pool.waiting[s] <= threshold) out.push(s);
      }
    },
  };
  return filter;
};
