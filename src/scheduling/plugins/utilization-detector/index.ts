/**
 * `utilization-detector`: pool saturation from queue depth and KV utilization, and a filter that
 * keeps endpoints below the thresholds. See README.md.
 */
import type { Candidates, Filter, PluginFactory } from '../../framework/plugin.js';
import type { SaturationDetector } from '../../framework/saturation-detector.js';
import { typed } from '../common.js';

export const UTILIZATION_DETECTOR = 'utilization-detector';


export interface UtilizationDetector extends Filter, SaturationDetector {}

export const utilizationDetector: PluginFactory = (name, p, { pool }) => {
  const queueT = p.number('queueDepthThreshold', 5, { min: 0 });
  const kvT = p.number('kvCacheUtilThreshold', 0.8, { min: 0, max: 1 });
  const staleMs = p.durationMs('metricsStalenessThreshold', 200);
  const headroom = p.number('headroom', 0, { min: 0 });
  // Requests sent after the last scrape are not in its queue depth; count those still in flight as queued.
  const countUnscraped = p.boolean('countUnscraped', true);
  const qLimit = queueT * (1 + headroom);
  const kvLimit = kvT * (1 + headroom);

  const d: UtilizationDetector = {
    typedName: typed(UTILIZATION_DETECTOR, name),
    saturation(pl, slots, count, now, pendingRequests = 0) {
      if (count === 0) return 1;
      let sum = 0;
      for (let k = 0; k < count; k++) {
        const s = slots[k];
        if (!pl.isFresh(s, now, staleMs)) {
          sum += 1; // stale or missing metrics count as saturated
          continue;
        }
        // Of the requests sent since the scrape, those still in flight may be queued.
        const waiting = countUnscraped ? pl.waiting[s] + pl.unseenLoad(s) : pl.waiting[s];
        const q = queueT > 0 ? waiting / queueT : 0;
        const kv = kvT > 0 ? pl.kvUsage[s] / kvT : 0;
        sum += q > kv ? q : kv;
      }
      // Each pending request will wait on some endpoint: at most 1/queueT more for one of them.
      if (pendingRequests > 0 && queueT > 0) sum += pendingRequests / queueT;
      return sum / count;
    },
    filter(cycle, input: Candidates, out: Candidates) {
      for (let k = 0; k < input.length; k++) {
        const s = input.slots[k];
        if (pool.isFresh(s, cycle.now, staleMs) && pool.waiting[s] < qLimit && pool.kvUsage[s] < kvLimit) out.push(s);
      }
      // Fail open: when everything is over the thresholds, keep the input.
      if (out.length === 0) for (let k = 0; k < input.length; k++) out.push(input.slots[k]);
    },
  };
  return d;
};
