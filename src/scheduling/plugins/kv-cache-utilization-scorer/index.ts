/** `kv-cache-utilization-scorer`: prefers endpoints with free KV cache. See README.md. */
import type { PluginFactory, Scorer } from '../../framework/plugin.js';
import { typed } from '../common.js';

export const KV_CACHE_SCORER = 'kv-cache-utilization-scorer';
/** v0.5 name of the same scorer. */
export const KV_CACHE_SCORER_LEGACY = 'kv-cache-scorer';

export const kvCacheUtilizationScorer: PluginFactory = (name, _p, { pool }) => {
  const scorer: Scorer = {
    typedName: typed(KV_CACHE_SCORER, name),
    score(_cycle, cands, out) {
      const kv = pool.kvUsage;
      const slots = cands.slots;
      for (let k = 0; k < cands.length; k++) out[k] = 1 - kv[slots[k]];
    },
  };
  return scorer;
};
