/** `lora-affinity-scorer`: prefers endpoints that already serve the requested adapter. See README.md. */
import type { PluginFactory, Scorer } from '../../framework/plugin.js';
import { typed } from '../common.js';

export const LORA_AFFINITY_SCORER = 'lora-affinity-scorer';

export const loraAffinityScorer: PluginFactory = (name, p, { pool }) => {
  const active = p.number('activeScore', 1, { min: 0, max: 1 });
  const freeSlot = p.number('freeSlotScore', 0.8, { min: 0, max: 1 });
  const waiting = p.number('waitingScore', 0.6, { min: 0, max: 1 });
  const scorer: Scorer = {
    typedName: typed(LORA_AFFINITY_SCORER, name),
    score(cycle, cands, out) {
      const model = cycle.request.targetModel;
      const slots = cands.slots;
      const maxAdapters = pool.maxAdapters;
      for (let k = 0; k < cands.length; k++) {
        const s = slots[k];
        const m = pool.atSlot(s)?.metrics;
        if (m == null) {
          out[k] = 0;
          continue;
        }
        if (m.activeAdapters.has(model)) out[k] = active;
        else if (m.activeAdapters.size + m.waitingAdapters.size < maxAdapters[s]) out[k] = freeSlot;
        else if (m.waitingAdapters.has(model)) out[k] = waiting;
        else out[k] = 0;
      }
    },
  };
  return scorer;
};
