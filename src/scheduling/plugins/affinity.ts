/**
 * Whether a request has affinity worth keeping among the candidates, as the decode-headroom
 * filter's per-request bound and max-score-picker's near-tie scope judge it.
 */
import type { CycleState } from '../framework/cycle.js';
import { PREFIX_MATCH, type PrefixMatch } from '../framework/prefix-match.js';
import type { AdapterNames } from './adapter-names.js';

/**
 * True when the request has no affinity to keep: its prefix is hot (it wants more holders,
 * `spreadHotPrefixes`), or no candidate holds any of its prompt and it asks for no adapter.
 * Spreading such a request costs it nothing. False without a prefix match (no prefix scorer in
 * the profile): nothing says the prompt is held nowhere.
 */
export function noAffinityToKeep(cycle: CycleState, slots: Int32Array, n: number, adapters: AdapterNames): boolean {
  const prefix = cycle.get(PREFIX_MATCH);
  return prefix !== undefined && (prefix.hot() || unheld(prefix, slots, n, adapters, cycle.request.targetModel));
}

/** Whether no candidate holds any of the request's prompt and the model is not a known adapter. */
function unheld(prefix: PrefixMatch, slots: Int32Array, n: number, adapters: AdapterNames, model: string): boolean {
  if (adapters.isAdapter(model)) return false;
  for (let k = 0; k < n; k++) if (prefix.fraction(slots[k]) > 0) return false;
  return true;
}
