/**
 * `prefix-rendezvous-scorer`: prefix affinity that several picker replicas agree on without
 * sharing state (active-active HA). The home of a prompt prefix is chosen by rendezvous
 * (highest-random-weight) hashing of the prefix over the candidate endpoints' addresses, so every
 * replica with the same endpoint list picks the same home; a bounded-load gate decides when to
 * leave it, spilling along deeper prefix checkpoints. See README.md.
 */
import type { PluginFactory, Scorer } from '../../framework/plugin.js';
import { hashBlocks, hashRange, seedHash } from '../../prefix/hash.js';
import { typed } from '../common.js';

export const PREFIX_RENDEZVOUS_SCORER = 'prefix-rendezvous-scorer';
/** Average characters per token (the prefix scorer's assumption). */
const CHARS_PER_TOKEN = 4;
const TWO32 = 4294967296;

/** How requests were placed since start. */
export interface RendezvousStats {
  /** Requests too short to have a prefix key (scored 0 everywhere). */
  unkeyed: number;
  /** Requests for a LoRA adapter placed on the adapter's own home. */
  adapter: number;
  /** Requests placed at checkpoint level i (0 = shallowest); the last entry counts fallbacks. */
  levels: number[];
}

/** The scorer, with its placement statistics. */
export interface PrefixRendezvousScorer extends Scorer {
  stats(): RendezvousStats;
}

const encoder = new TextEncoder();

/** Mixes a 53-bit prefix key with an endpoint's identity into a rendezvous weight. */
export function rendezvousWeight(key: number, idLo: number, idHi: number): number {
  const kLo = key >>> 0;
  const kHi = Math.floor(key / TWO32) | 0;
  let a = Math.imul(kLo ^ idLo, 0x9e3779b1);
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  a ^= a >>> 16;
  let b = Math.imul((kHi ^ idHi) + a, 0x27d4eb2f);
  b = Math.imul(b ^ (b >>> 15), 0x85ebca77);
  b = Math.imul(b ^ (b >>> 13), 0xc2b2ae3d);
  b ^= b >>> 16;
  return (b >>> 0) * 2097152 + (a >>> 11);
}

export const prefixRendezvousScorer: PluginFactory = (name, p, { pool }) => {
  const blockSizeTokens = p.number('blockSizeTokens', 16, { min: 1, integer: true });
  const minKeyTokens = p.number('minKeyTokens', 64, { min: 1, integer: true });
  const maxKeyTokens = p.number('maxKeyTokens', 4096, { min: 1, integer: true });
  if (maxKeyTokens < minKeyTokens) p.fail('maxKeyTokens', `must be >= minKeyTokens (${minKeyTokens})`);
  const loadFactor = p.number('loadFactor', 1.25, { min: 1 });
  const loadSlack = p.number('loadSlack', 2, { min: 0 });
  const kvThreshold = p.number('kvThreshold', 0.95, { min: 0, max: 1 });
  const countUnscraped = p.boolean('countUnscraped', true);
  const adapterHome = p.boolean('adapterHome', true);

  const blockBytes = blockSizeTokens * CHARS_PER_TOKEN;
  const maxBlocks = Math.max(1, Math.ceil(maxKeyTokens / blockSizeTokens));
  // Checkpoints in blocks: minKey, 2·minKey, 4·minKey, ... up to maxKey.
  const checkpoints: number[] = [];
  for (let b = Math.max(1, Math.ceil(minKeyTokens / blockSizeTokens)); b <= maxBlocks; b *= 2) checkpoints.push(b);
  const hashes = new Float64Array(maxBlocks);

  // Endpoint identity by slot: a hash of `address:port`, the same on every replica (slots are not).
  let idLo = new Int32Array(pool.capacity);
  let idHi = new Int32Array(pool.capacity);
  const setId = (slot: number, key: string) => {
    if (slot >= idLo.length) {
      const lo = new Int32Array(pool.capacity);
      const hi = new Int32Array(pool.capacity);
      lo.set(idLo);
      hi.set(idHi);
      idLo = lo;
      idHi = hi;
    }
    const bytes = encoder.encode(key);
    const h = hashRange(bytes, 0, bytes.length, 0x5eed);
    idLo[slot] = h >>> 0;
    idHi[slot] = Math.floor(h / TWO32) | 0;
  };
  for (const ep of pool.endpoints()) setId(ep.slot, ep.key);
  pool.subscribe((e) => {
    if (e.type !== 'removed') setId(e.endpoint.slot, e.endpoint.key);
  });

  let load = new Float64Array(pool.capacity);
  let open = new Uint8Array(pool.capacity);
  const stats: RendezvousStats = { unkeyed: 0, adapter: 0, levels: new Array<number>(checkpoints.length + 2).fill(0) };

  /** Whether `model` is a LoRA adapter some candidate runs or queues (from the scraped metrics). */
  function isAdapter(model: string, slots: Int32Array, n: number): boolean {
    for (let k = 0; k < n; k++) {
      const m = pool.atSlot(slots[k])?.metrics;
      if (m !== null && m !== undefined && (m.activeAdapters.has(model) || m.waitingAdapters.has(model))) return true;
    }
    return false;
  }

  /** The candidate index with the highest weight for `key`, among open ones when `onlyOpen`. */
  function home(key: number, slots: Int32Array, n: number, onlyOpen: boolean): number {
    let best = -1;
    let bestW = -1;
    for (let k = 0; k < n; k++) {
      if (onlyOpen && open[k] === 0) continue;
      const s = slots[k];
      const w = rendezvousWeight(key, idLo[s], idHi[s]);
      // Equal weights are astronomically rare; break them by identity so replicas still agree.
      if (w > bestW || (w === bestW && best >= 0 && idLo[s] > idLo[slots[best]])) {
        bestW = w;
        best = k;
      }
    }
    return best;
  }

  const scorer: PrefixRendezvousScorer = {
    typedName: typed(PREFIX_RENDEZVOUS_SCORER, name),
    score(cycle, cands, out) {
      const n = cands.length;
      out.fill(0, 0, n);
      const req = cycle.request;
      const nb =
        req.body === null ? 0 : hashBlocks(req.body, req.promptStart, req.promptEnd, blockBytes, maxBlocks, seedHash(req.targetModel, req.cacheSalt), hashes);
      if (nb === 0 || n === 0) {
        stats.unkeyed++;
        return;
      }
      const slots = cands.slots;
      if (load.length < n) {
        load = new Float64Array(pool.capacity);
        open = new Uint8Array(pool.capacity);
      }
      // Bounded load: an endpoint is open while its load is within loadFactor × mean + slack.
      let sum = 0;
      for (let k = 0; k < n; k++) {
        const s = slots[k];
        const l = pool.waiting[s] + pool.running[s] + (countUnscraped ? pool.unseenLoad(s) : 0);
        load[k] = l;
        sum += l;
      }
      const cap = (sum / n) * loadFactor + loadSlack;
      let anyOpen = false;
      for (let k = 0; k < n; k++) {
        const ok = load[k] <= cap && pool.kvUsage[slots[k]] <= kvThreshold;
        open[k] = ok ? 1 : 0;
        anyOpen ||= ok;
      }
      // Every cache nearly full: fall back to the load bound alone (the least loaded is always under it).
      if (!anyOpen) for (let k = 0; k < n; k++) open[k] = load[k] <= cap ? 1 : 0;

      // Shallow to deep: the first checkpoint whose home is open wins. A popular prefix whose
      // home is busy spills to the home of a longer prefix: consistent across replicas, and
      // requests sharing that longer prefix (a session's turns) still land together.
      let chosen = -1;
      let level = 0;
      // A LoRA adapter first gets a home of its own, so replicas keep each adapter on few pods
      // (adapter slots are scarcer than prefix cache); its prompt prefixes are the spill path.
      if (adapterHome && isAdapter(req.targetModel, slots, n)) {
        const h = home(seedHash(req.targetModel, ''), slots, n, false);
        if (open[h] === 1) {
          stats.adapter++;
          out[h] = 1;
          return;
        }
      }
      for (; level < checkpoints.length && checkpoints[level] <= nb; level++) {
        const h = home(hashes[checkpoints[level] - 1], slots, n, false);
        if (open[h] === 1) {
          chosen = h;
          break;
        }
      }
      if (chosen < 0 && (level === 0 || checkpoints[level - 1] !== nb)) {
        // The whole (possibly shorter) prompt as the deepest key.
        const h = home(hashes[nb - 1], slots, n, false);
        if (open[h] === 1) chosen = h;
        level = checkpoints.length;
      }
      if (chosen < 0) {
        chosen = home(hashes[nb - 1], slots, n, true);
        level = checkpoints.length + 1;
      }
      stats.levels[level]++;
      out[chosen] = 1;
    },
    stats() {
      return { unkeyed: stats.unkeyed, adapter: stats.adapter, levels: [...stats.levels] };
    },
  };
  return scorer;
};
