/** `max-score-picker`: the highest totals, near ties broken by the lighter load, exact ties at random. See README.md. */
import type { Candidates, Picker, PluginFactory } from '../../framework/plugin.js';
import { PREFIX_MATCH } from '../../framework/prefix-match.js';
import { maxEndpointsParam, typed } from '../common.js';
import { learnAdapterNames } from '../adapter-names.js';
import { noAffinityToKeep } from '../affinity.js';

export const MAX_SCORE_PICKER = 'max-score-picker';

export const maxScorePicker: PluginFactory = (name, p, { pool }) => {
  const maxEndpoints = maxEndpointsParam(p);
  // Totals within this of the best are a near tie, won by the endpoint carrying the least load:
  // scorers that see no difference worth this much should not leave the pick to noise (0: off).
  const tieMargin = p.number('tieMargin', 0, { min: 0 });
  // Loads per KV block where the near-tied endpoints' KV sizes are all known (a pod with a third of
  // the blocks counts each request three times), else in requests.
  const perBlock = p.string('tieLoadUnit', 'kv', ['requests', 'kv']) === 'kv';
  // Which picks may break a near tie: every pick, or only a request with no affinity to keep (its
  // prefix held nowhere or hot, no adapter), where small score gaps are noise rather than a
  // better prefix match or a colder adapter to evict.
  const anyRequest = p.string('tieScope', 'all', ['all', 'no-affinity']) === 'all';
  const adapters = tieMargin > 0 && !anyRequest ? learnAdapterNames(pool) : null;
  let used = new Uint8Array(16);
  /** The lightest candidate whose total is within `tieMargin` of `best`'s; equal loads at random. */
  const lightestNearTie = (cands: Candidates, totals: Float64Array, n: number, best: number, rng: () => number): number => {
    const floor = totals[best] - tieMargin;
    const slots = cands.slots;
    const blocks = pool.cacheNumBlocks;
    let unit = perBlock;
    for (let k = 0; k < n && unit; k++) if (totals[k] >= floor && !(blocks[slots[k]] > 0)) unit = false;
    let pick = best;
    let least = Infinity;
    let ties = 0;
    for (let k = 0; k < n; k++) {
      if (totals[k] < floor) continue;
      const s = slots[k];
      const l = unit ? pool.load(s) / blocks[s] : pool.load(s);
      if (l < least) {
        least = l;
        pick = k;
        ties = 1;
      } else if (l === least && rng() * ++ties < 1) pick = k;
    }
    return pick;
  };
  const picker: Picker = {
    typedName: typed(MAX_SCORE_PICKER, name),
    maxEndpoints,
    consumes: [PREFIX_MATCH],
    pick(cycle, cands, totals, out) {
      const n = cands.length;
      const want = Math.min(maxEndpoints, n, out.length);
      const rng = cycle.rng;
      const nearTies = tieMargin > 0 && (adapters === null || noAffinityToKeep(cycle, cands.slots, n, adapters));
      if (want === 1) {
        // One pass: keep the best, replacing it with probability 1/ties on an equal score.
        let best = 0;
        let ties = 1;
        for (let k = 1; k < n; k++) {
          const t = totals[k];
          if (t > totals[best]) {
            best = k;
            ties = 1;
          } else if (t === totals[best] && rng() * ++ties < 1) best = k;
        }
        if (nearTies) best = lightestNearTie(cands, totals, n, best, rng);
        out[0] = cands.slots[best];
        return 1;
      }
      if (used.length < n) used = new Uint8Array(n * 2);
      used.fill(0, 0, n);
      for (let r = 0; r < want; r++) {
        let best = -1;
        let ties = 0;
        for (let k = 0; k < n; k++) {
          if (used[k] === 1) continue;
          if (best < 0 || totals[k] > totals[best]) {
            best = k;
            ties = 1;
          } else if (totals[k] === totals[best] && rng() * ++ties < 1) best = k;
        }
        // The first endpoint is the pick; the rest are the gateway's fallbacks, best first.
        if (r === 0 && nearTies) best = lightestNearTie(cands, totals, n, best, rng);
        used[best] = 1;
        out[r] = cands.slots[best];
      }
      return want;
    },
  };
  return picker;
};
