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
  // `time`: the work is weighed by each endpoint's observed cost per token (and its fixed part),
  // so a slower accelerator's tokens count for what they take there. `tokens`: a token is a token.
  const byTime = p.string('unit', 'tokens', ['tokens', 'time']) === 'time';
  const withFixed = p.boolean('fixedCost', true);
  const scorer: Scorer = {
    typedName: typed(PREFILL_WORK_SCORER, name),
    consumes: [PREFIX_MATCH],
    score(cycle, cands, out) {
      const match = cycle.get(PREFIX_MATCH);
      const input = cycle.request.inputTokens;
      const { pendingPrefill, waiting } = pool;
      const slots = cands.slots;
      const n = cands.length;
      // In tokens every endpoint costs 1 per token and nothing fixed, on a scale of S.
      const perTok = byTime ? pool.signal.prefillMsPerToken : null;
      const fixed = pool.signal.prefillMs;
      let meanPer = 1;
      let meanFixed = 0;
      let T = scale;
      if (perTok !== null) {
        // Endpoints not yet measured are taken at the candidates' mean. The scale is S tokens at
        // the fastest measured endpoint's cost, so a fleet of one speed scores nearly as in
        // tokens; with none measured, the score is the token formula's.
        let known = 0;
        let sumPer = 0;
        let sumFixed = 0;
        let minPer = Infinity;
        for (let k = 0; k < n; k++) {
          const s = slots[k];
          if (perTok[s] > 0) {
            known++;
            sumPer += perTok[s];
            sumFixed += fixed[s];
            if (perTok[s] < minPer) minPer = perTok[s];
          }
        }
        if (known > 0) {
          meanPer = sumPer / known;
          meanFixed = withFixed ? sumFixed / known : 0;
          T = scale * minPer;
        }
      }
      for (let k = 0; k < n; k++) {
        const s = slots[k];
        // Work ahead: our own not-yet-started prompts, or the scraped queue (other senders) if larger.
        const ahead = Math.max(pendingPrefill[s], waiting[s] * queuedPromptTokens);
        const own = input * (1 - (match?.fraction(s) ?? 0));
        const m = perTok !== null && perTok[s] > 0;
        const c = m ? perTok[s] : meanPer;
        // Summed in this order so that the token formula's value is exactly S / (S + ahead + own).
        out[k] = T / (T + ahead * c + own * c + (m ? (withFixed ? fixed[s] : 0) : meanFixed));
      }
    },
  };
  return scorer;
};
