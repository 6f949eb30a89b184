/**
 * `concurrency-detector`: pool saturation from the requests (or estimated tokens) Switchboard
 * has in flight on each endpoint, against a per-endpoint capacity; and a filter that drops
 * endpoints at their burst limit. See README.md.
 */
import type { Candidates, Filter, PluginFactory } from '../../framework/plugin.js';
import type { SaturationDetector } from '../../framework/saturation-detector.js';
import { typed } from '../common.js';

export const CONCURRENCY_DETECTOR = 'concurrency-detector';

export interface ConcurrencyDetector extends Filter, SaturationDetector {}

export const concurrencyDetector: PluginFactory = (name, p, { pool }) => {
  const mode = p.string('concurrencyMode', 'requests', ['requests', 'tokens'] as const);
  const maxRequests = p.number('maxConcurrency', 100, { min: 1 });
  const maxTokens = p.number('maxTokenConcurrency', 1_000_000, { min: 1 });
  const headroom = p.number('headroom', 0, { min: 0 });
  const tokens = mode === 'tokens';
  const capacity = tokens ? maxTokens : maxRequests;
  const burst = capacity * (1 + headroom);

  const d: ConcurrencyDetector = {
    typedName: typed(CONCURRENCY_DETECTOR, name),
    saturation(pl, slots, count, _now, pendingRequests = 0, pendingTokens = 0) {
      if (count === 0) return 1; // no candidates: fail closed
      const load = tokens ? pl.inflightTokens : pl.inflight;
      let sum = tokens ? pendingTokens : pendingRequests;
      for (let k = 0; k < count; k++) sum += load[slots[k]];
      return sum / (capacity * count);
    },
    filter(_cycle, input: Candidates, out: Candidates) {
      const load = tokens ? pool.inflightTokens : pool.inflight;
      // No fail-open (as in the Go EPP): endpoints at their burst limit take no more work.
      for (let k = 0; k < input.length; k++) {
        const s = input.slots[k];
        if (load[s] < burst) out.push(s);
      }
    },
  };
  return d;
};
