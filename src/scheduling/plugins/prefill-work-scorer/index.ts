/**
 * `prefill-work-scorer`: prefers endpoints where the request's first token comes soonest,
 * estimated as the prefill work ahead of it plus its own uncached prompt. See README.md.
 */
import { PREFIX_MATCH } from '../../framework/prefix-match.js';
import type { PluginFactory, Scorer } from '../../framework/plugin.js';
import { typed } from '../common.js';

export const PREFILL_WORK_SCORER = 'prefill-work-scorer';

export const prefillWorkScorer: PluginFactory = (name, p, { pool }) => {
  const scale = p.number('tokensScale', 8192, { min: 1 });
  const queuedPromptTokens = p.number('queuedPromptTokens', 1024, { min: 0 });
  const scorer: Scorer = {
    typedName: typed(PREFILL_WORK_SCORER, name),
    consumes: [PREFIX_MATCH],
    score(cycle, cands, out) {
      const match = cycle.get(PREFIX_MATCH);
      const input = cycle.request.inputTokens;
      const { pendingPrefill, waiting } = pool;
      const slots = cands.slots;
      for (let k = 0; k < cands.length; k++) {
        const s = slots[k];
        // Work ahead: our own not-yet-started prompts, or the scraped queue (other senders) if larger.
        const ahead = Math.max(pendingPrefill[s], waiting[s] * queuedPromptTokens);
        const own = input * (1 - (match?.fraction(s) ?? 0));
        out[k] = scale / (scale + ahead + own);
      }
    },
  };
  return scorer;
};
