/** `running-requests-size-scorer`: prefers endpoints running fewer requests. See README.md. */
import type { PluginFactory, Scorer } from '../../framework/plugin.js';
import { inverseMinMax, typed } from '../common.js';

export const RUNNING_REQUESTS_SCORER = 'running-requests-size-scorer';

export const runningRequestsScorer: PluginFactory = (name, _p, { pool }) => {
  const scorer: Scorer = {
    typedName: typed(RUNNING_REQUESTS_SCORER, name),
    score(_cycle, cands, out) {
      const running = pool.running;
      const slots = cands.slots;
      for (let k = 0; k < cands.length; k++) out[k] = running[slots[k]];
      inverseMinMax(out, cands.length);
    },
  };
  return scorer;
};
