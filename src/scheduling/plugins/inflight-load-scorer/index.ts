/** `inflight-load-scorer`: prefers endpoints with fewer requests in flight from this picker. See README.md. */
import type { PluginFactory, Scorer } from '../../framework/plugin.js';
import { inverseMinMax, typed } from '../common.js';

export const INFLIGHT_LOAD_SCORER = 'inflight-load-scorer';

export const inflightLoadScorer: PluginFactory = (name, p, { pool }) => {
  const mode = p.string('mode', 'requests', ['requests', 'tokens'] as const);
  const scorer: Scorer = {
    typedName: typed(INFLIGHT_LOAD_SCORER, name),
    score(_cycle, cands, out) {
      const col = mode === 'requests' ? pool.inflight : pool.inflightTokens;
      const slots = cands.slots;
      for (let k = 0; k < cands.length; k++) out[k] = col[slots[k]];
      inverseMinMax(out, cands.length);
    },
  };
  return scorer;
};
