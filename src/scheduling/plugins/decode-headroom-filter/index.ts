/**
 * `decode-headroom-filter`: affinity yields before it hurts decode. Drops the endpoints that are
 * overloaded against the candidates (bounded loads), whose decode is measurably slower while they
 * carry more than the least-loaded, or that are preempting while others are not; the endpoints
 * left are where prefix and LoRA affinity may pull. Optionally, while every endpoint kept queues,
 * a request with no affinity to keep may spill to a dropped one that does not. See README.md.
 */
import type { Candidates, Filter, PluginFactory } from '../../framework/plugin.js';
import type { CycleState } from '../../framework/cycle.js';
import { PREFIX_MATCH } from '../../framework/prefix-match.js';
import { typed } from '../common.js';
import { learnAdapterNames } from '../adapter-names.js';
import { noAffinityToKeep } from '../affinity.js';

export const DECODE_HEADROOM_FILTER = 'decode-headroom-filter';

export const decodeHeadroomFilter: PluginFactory = (name, p, { pool }) => {
  const slack = p.number('slack', 1, { min: 0 });
  const minSlack = p.number('minSlack', 8, { min: 0 });
  const tpotSlack = p.number('tpotSlack', 1, { min: 0 });
  const preemptions = p.boolean('preemptions', false);
  // Which endpoints the decode rule may drop: those above the least-loaded, or above the mean.
  const aboveMean = p.string('slowAbove', 'min', ['min', 'mean']) === 'mean';
  // An endpoint holding the request's prefix may carry one more request per this many matched
  // prompt tokens (the prefill it saves is worth some queueing), unless the prefix is hot enough
  // to want more than one holder (then spreading it is the point, and `hotAffinityTokens`
  // applies); 0: the bound ignores matches.
  const affinityTokens = p.number('affinityTokens', 0, { min: 0 });
  // The same for a hot prefix's holders (0: none). Spreading a prefix costs each new holder one
  // full prefill of it, so even a prefix that wants more holders keeps the one it has while the
  // prefill a hit saves is worth the wait: without it a long prompt spread at every burst.
  const hotAffinityTokens = p.number('hotAffinityTokens', 0, { min: 0 });
  // `hotAffinityTokens` holds only while the prefix wants at most this many holders (0: any). One
  // that wants a few is a long prompt shared by about a pod's worth of traffic, where each spread
  // pays a long prefill for little relief; one that wants many is a hot spot, where spreading
  // relieves decode.
  const hotAffinityMaxWanted = p.number('hotAffinityMaxWanted', 0, { min: 0, integer: true });
  // The bound for a request with no affinity to keep: its prefix is hot (it wants more holders,
  // `spreadHotPrefixes`), or no candidate holds any of its prompt and it asks for no adapter.
  // Spreading costs such a request nothing, while a cold prefix's holder should keep its hits.
  const balanceSlack = p.number('balanceSlack', slack, { min: 0 });
  const balanceMinSlack = p.number('balanceMinSlack', minSlack, { min: 0 });
  // Spill: while every endpoint kept shows a queue, such a request may also go to a dropped one
  // that shows none, unless its observed TTFT is over (1 + spillTtftSlack) x the best kept one's:
  // a queue on the kept endpoints costs more than the bound saves (a small-KV pod beside busy
  // large ones), and a slow prefill there would cost more than the queue.
  const spill = p.boolean('spillWhenQueued', false);
  const spillTtftSlack = p.number('spillTtftSlack', 0.5, { min: 0 });
  // How many requests a spill endpoint may have been sent since its last scrape: the next scrape
  // says whether it still has room before more follow.
  const spillUnseen = p.number('spillUnseen', 2, { min: 0 });
  // An endpoint whose last scrape shows the requested adapter running may carry this many more
  // requests, while the fleet has reported more than `adapterAllowanceFrom` x its `max_lora`
  // adapters: a hot adapter spread to one more pod holds one of that pod's few batch slots for
  // good, and the adapters that slot served then load and evict elsewhere. With few adapters per
  // slot every pod keeps most of them anyway, and the extra load only slows decode.
  const adapterAllowance = p.number('adapterAllowance', 0, { min: 0 });
  const adapterAllowanceFrom = p.number('adapterAllowanceFrom', 2, { min: 0 });
  const adapters =
    balanceSlack !== slack || balanceMinSlack !== minSlack || spill || adapterAllowance > 0 ? learnAdapterNames(pool) : null;
  // Loads in units of the mean candidate's KV size (`kv`): a pod with a third of the blocks
  // counts each request three times. `requests`: every request counts one.
  const byKv = p.string('loadUnit', 'requests', ['requests', 'kv']) === 'kv';
  let loads = new Float64Array(16);
  let dropped = new Uint8Array(16);
  const filter: Filter = {
    typedName: typed(DECODE_HEADROOM_FILTER, name),
    consumes: [PREFIX_MATCH],
    filter(cycle, input, out) {
      const n = input.length;
      const slots = input.slots;
      if (loads.length < n) {
        loads = new Float64Array(Math.max(n, loads.length * 2));
        dropped = new Uint8Array(loads.length);
      }
      const { waiting, running, inflight } = pool;
      const tpot = pool.signal.tpot;
      const preempt = pool.signal.preemptions;
      // Load: the scrape's queue and batch plus what it has not seen, or our own in-flight count
      // when that is larger (the scrape lags; other pickers' requests are only in the scrape).
      for (let k = 0; k < n; k++) loads[k] = waiting[slots[k]] + running[slots[k]];
      pool.addUnseenLoad(slots, n, loads);
      const blocks = pool.cacheNumBlocks;
      const meanBlocks = byKv ? meanKvBlocks(blocks, slots, n) : 0;
      let sum = 0;
      let min = Infinity;
      let minTpot = Infinity;
      let calm = false;
      for (let k = 0; k < n; k++) {
        const s = slots[k];
        let l = loads[k] > inflight[s] ? loads[k] : inflight[s];
        if (meanBlocks > 0) l = (l * meanBlocks) / blocks[s];
        loads[k] = l;
        sum += l;
        if (l < min) min = l;
        const t = tpot[s];
        if (t > 0 && t < minTpot) minTpot = t;
        if (preempt[s] <= 0) calm = true;
      }
      // Consistent hashing with bounded loads, then decode health: only endpoints carrying more
      // than the least-loaded one can be dropped, so the list never empties and a slower
      // accelerator at equal load keeps its share.
      const mean = sum / n;
      const tpotBound = minTpot * (1 + tpotSlack);
      // Prefix matches come from a prepare step (prefix-cache-scorer) when the profile has one.
      const prefix = cycle.get(PREFIX_MATCH);
      const hot = prefix !== undefined && prefix.hot();
      const noAffinity = adapters !== null && noAffinityToKeep(cycle, slots, n, adapters);
      const bound = noAffinity ? Math.max(mean * (1 + balanceSlack), min + balanceMinSlack) : Math.max(mean * (1 + slack), min + minSlack);
      const hotAllowed = hot && (hotAffinityMaxWanted === 0 || prefix.wanted() <= hotAffinityMaxWanted);
      const per = hotAllowed ? hotAffinityTokens : hot ? 0 : affinityTokens;
      const match = per > 0 ? prefix : undefined;
      const perMatch = cycle.request.inputTokens / (per > 0 ? per : 1);
      const model = cycle.request.targetModel;
      const adapter = adapterAllowance > 0 && adapters !== null && adapters.isAdapter(model) ? model : null;
      const start = out.length;
      for (let k = 0; k < n; k++) {
        const s = slots[k];
        const l = loads[k];
        dropped[k] = 1;
        let b = match === undefined ? bound : bound + match.fraction(s) * perMatch;
        const allowed = adapter !== null && l > b && runsAdapter(s, adapter);
        if (allowed) b += adapterAllowance;
        if (l > b) continue;
        if (l > min) {
          if (tpot[s] > tpotBound && (!aboveMean || l > mean)) continue;
          // Preempting under KV pressure is common on prefix holders: only an above-average load
          // makes it a reason to look elsewhere.
          if (preemptions && calm && preempt[s] > 0 && l > mean) continue;
        }
        dropped[k] = 0;
        out.push(s);
        if (allowed) cycle.explain?.allowed(filter.typedName.name, s);
      }
      if (spill && noAffinity && out.length - start < n) spillOver(cycle, slots, n, out, start);
    },
  };
  const runsAdapter = (s: number, adapter: string): boolean =>
    adapters !== null &&
    pool.maxAdapters[s] > 0 &&
    adapters.reported.size > adapterAllowanceFrom * pool.maxAdapters[s] &&
    pool.atSlot(s)?.metrics?.activeAdapters.has(adapter) === true;
  /** Adds the dropped endpoints with no queue when every kept one (out[start..]) has one. */
  const spillOver = (cycle: CycleState, slots: Int32Array, n: number, out: Candidates, start: number): void => {
    const { waiting } = pool;
    const ttft = pool.signal.ttft;
    let best = Infinity;
    for (let i = start; i < out.length; i++) {
      const s = out.slots[i];
      if (!(waiting[s] > 0)) return;
      if (ttft[s] > 0 && ttft[s] < best) best = ttft[s];
    }
    // No first token seen on a kept endpoint yet: nothing to weigh a slower prefill against.
    if (best === Infinity) return;
    const limit = best * (1 + spillTtftSlack);
    for (let k = 0; k < n; k++) {
      const s = slots[k];
      if (dropped[k] === 0 || waiting[s] > 0 || pool.unseenLoad(s) > spillUnseen) continue;
      if (ttft[s] > 0 && ttft[s] > limit) continue;
      out.push(s);
      cycle.explain?.spilled(filter.typedName.name, s);
    }
  };
  return filter;
};

/**
 * Mean KV block count of the candidates, or 0 when every candidate has the same count (nothing
 * to weigh) or one has none reported (no common unit: plain request counts for all).
 */
function meanKvBlocks(blocks: Float64Array, slots: Int32Array, n: number): number {
  let sum = 0;
  let mixed = false;
  const first = n > 0 ? blocks[slots[0]] : 0;
  for (let k = 0; k < n; k++) {
    const b = blocks[slots[k]];
    if (!(b > 0)) return 0;
    if (b !== first) mixed = true;
    sum += b;
  }
  return mixed ? sum / n : 0;
}
