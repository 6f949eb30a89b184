/** `queue-scorer`: prefers endpoints with shorter waiting queues. See README.md. */
import type { PluginFactory, Scorer } from '../../framework/plugin.js';
import { inverseMinMax, typed } from '../common.js';

export const QUEUE_SCORER = 'queue-scorer';

export const queueScorer: PluginFactory = (name, p, { pool }) => {
  const countUnscraped = p.boolean('countUnscraped', true);
  // 0 keeps the Go EPP's min-max over the candidates; > 0 scores each endpoint on its own: ref / (ref + q).
  const reference = p.number('referenceQueue', 0, { min: 0 });
  const scorer: Scorer = {
    typedName: typed(QUEUE_SCORER, name),
    score(_cycle, cands, out) {
      const n = cands.length;
      const slots = cands.slots;
      const waiting = pool.waiting;
      for (let k = 0; k < n; k++) out[k] = waiting[slots[k]];
      if (countUnscraped) pool.addUnseenLoad(slots, n, out);
      if (reference > 0) for (let k = 0; k < n; k++) out[k] = reference / (reference + out[k]);
      else inverseMinMax(out, n);
    },
  };
  return scorer;
};
