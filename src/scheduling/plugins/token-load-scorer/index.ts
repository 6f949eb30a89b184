/** `token-load-scorer`: prefers endpoints with fewer in-flight tokens. See README.md. */
import type { PluginFactory, Scorer } from '../../framework/plugin.js';
import { typed } from '../common.js';

export const TOKEN_LOAD_SCORER = 'token-load-scorer';

export const tokenLoadScorer: PluginFactory = (name, p, { pool }) => {
  const threshold = p.number('queueThresholdTokens', 4_194_304, { min: 1 });
  const scorer: Scorer = {
    typedName: typed(TOKEN_LOAD_SCORER, name),
    score(_cycle, cands, out) {
      const tokens = pool.inflightTokens;
      const slots = cands.slots;
      for (let k = 0; k < cands.length; k++) out[k] = 1 - Math.min(tokens[slots[k]], threshold) / threshold;
    },
  };
  return scorer;
};
