/**
 * `prefix-cache-scorer`: prefers endpoints likely to hold the request's prompt prefix in their
 * KV cache, from an approximate index of the prefixes this picker sent where. See README.md.
 */
import type { CycleState } from '../../framework/cycle.js';
import { PREFIX_MATCH, PREFIX_STATS, type PrefixMatch, type PrefixStats } from '../../framework/prefix-match.js';
import type { StatsSource } from '../../framework/stats.js';
import type { Candidates, PluginFactory, PreRequest, PrepareData, Scorer } from '../../framework/plugin.js';
import { hashBlocks, seedHash } from '../../prefix/hash.js';
import { PrefixIndexer } from '../../prefix/indexer.js';
import { DecayedShare } from '../../../util/decayed-share.js';
import { typed } from '../common.js';

export const PREFIX_CACHE_SCORER = 'prefix-cache-scorer';
/** Average characters per token, used to turn token block sizes into byte block sizes. */
const CHARS_PER_TOKEN = 4;

/** The prefix scorer publishes its matches in the cycle and its index statistics to telemetry. */
export interface PrefixCacheScorer extends PrepareData, Scorer, PreRequest, StatsSource<PrefixStats> {}

export const prefixCacheScorer: PluginFactory = (name, p, { pool }) => {
  const autoTune = p.boolean('autoTune', true);
  const blockSizeTokens = p.number('blockSizeTokens', 16, { min: 1, integer: true });
  const maxBlocksParam = p.number('maxPrefixBlocksToMatch', 256, { min: 1, integer: true });
  const maxTokens = p.number('maxPrefixTokensToMatch', 0, { min: 0, integer: true });
  const lruCapacity = p.number('lruCapacityPerServer', 31_250, { min: 1, integer: true });
  // Switchboard: index every k-th KV block boundary only (one hash covers k blocks). Fewer, longer
  // hashes cost less per request; matches are measured at k-block granularity.
  const blocksPerHash = p.number('blocksPerHash', 1, { min: 1, max: 64, integer: true });
  // v1.0 used a fixed character block size; accept it so old configs load.
  const legacyHashBlockSize = p.number('hashBlockSize', 0, { min: 0, integer: true });
  // Switchboard: a prefix carried by more of the traffic than its holders' share of the endpoints
  // stops pulling until enough endpoints hold it (see README, "Hot prefixes").
  const spreadHot = p.boolean('spreadHotPrefixes', false);
  // Switchboard: on an endpoint whose KV cache is at least `staleKvUsage` in use, a match on blocks
  // last sent before it allocated `staleFrom` of its cache counts less, down to nothing at
  // `staleAt` (see README, "Stale matches"); staleFrom 0: off.
  const staleFrom = p.number('staleFrom', 0, { min: 0, max: 4 });
  const staleAt = p.number('staleAt', 1, { min: 0.01, max: 8 });
  if (staleFrom > 0 && staleAt <= staleFrom) p.fail('staleAt', `must be greater than staleFrom (${staleFrom}), got ${staleAt}`);
  const staleKvUsage = p.number('staleKvUsage', 0, { min: 0, max: 1 });
  let ages: Float64Array | null = staleFrom > 0 ? new Float64Array(pool.capacity) : null;
  const popularity = spreadHot ? new DecayedShare<number>(p.number('popularityHalfLife', 1000, { min: 10, max: 1_000_000, integer: true })) : null;

  const indexer = new PrefixIndexer(staleFrom > 0);
  pool.subscribe((e) => {
    if (e.type === 'removed') indexer.removeSlot(e.endpoint.slot);
  });

  let hashes = new Float64Array(0);
  let matchBySlot = new Float64Array(pool.capacity);
  const published: PrefixMatch = { fraction: (slot) => (slot < matchBySlot.length ? matchBySlot[slot] : 0), hot: () => wantedHolders > 1, wanted: () => wantedHolders };
  let counts = new Float64Array(pool.capacity);
  let touched = new Int32Array(pool.capacity);
  let hashCount = 0;
  let hashedFor: CycleState | null = null;
  let blockBytes = 0;
  const stats: PrefixStats = { indexSize: 0, blocksLooked: 0, blocksMatched: 0, bytesMatched: 0 };

  /** Hashes per request: the token coverage of the Go EPP's block cap, in hash blocks. */
  function maxBlocksFor(tokensPerBlock: number): number {
    const blocks = maxTokens > 0 ? Math.max(1, Math.floor(maxTokens / tokensPerBlock)) : maxBlocksParam;
    return Math.max(1, Math.floor(blocks / blocksPerHash));
  }

  /** Slots whose match the last prepare() published (zeroed by the next one). */
  let publishedLen = 0;

  /** Hashes the prompt and matches it against the index, over every slot; publishes the fractions. */
  function prepare(cycle: CycleState, cands: Candidates): void {
    const req = cycle.request;
    const n = cands.length;
    const slots = cands.slots;
    // Block size: the first candidate's KV block size when auto-tuning, else the parameter.
    let tokensPerBlock = blockSizeTokens;
    if (autoTune && n > 0) {
      const bs = pool.cacheBlockSize[slots[0]];
      if (bs > 0) tokensPerBlock = bs;
    }
    blockBytes = legacyHashBlockSize > 0 ? legacyHashBlockSize : tokensPerBlock * CHARS_PER_TOKEN * blocksPerHash;
    const maxBlocks = maxBlocksFor(tokensPerBlock);
    if (hashes.length < maxBlocks) hashes = new Float64Array(maxBlocks);
    hashCount =
      req.body === null
        ? 0
        : hashBlocks(req.body, req.promptStart, req.promptEnd, blockBytes, maxBlocks, seedHash(req.targetModel, req.cacheSalt), hashes);
    hashedFor = cycle;
    if (counts.length < pool.capacity) {
      counts = new Float64Array(pool.capacity);
      touched = new Int32Array(pool.capacity);
      matchBySlot = new Float64Array(pool.capacity);
      if (ages !== null) ages = new Float64Array(pool.capacity);
      publishedLen = 0;
    }
    for (let t = 0; t < publishedLen; t++) matchBySlot[touched[t]] = 0;
    publishedLen = 0;
    cycle.set(PREFIX_MATCH, published);
    if (hashCount === 0) return;
    // Every holder of a matched block, candidate or not: fractions are read by slot.
    publishedLen = indexer.match(hashes, hashCount, counts, touched, 0, ages);
    let best = 0;
    for (let t = 0; t < publishedLen; t++) {
      const slot = touched[t];
      let f = counts[slot] / hashCount;
      counts[slot] = 0;
      if (f > best) best = f;
      // Popularity keys on what the index knows (best, above); the endpoints' matches on what
      // is likely still cached.
      if (ages !== null && ages[slot] > staleFrom && pool.kvUsage[slot] >= staleKvUsage) f *= Math.max(0, (staleAt - ages[slot]) / (staleAt - staleFrom));
      matchBySlot[slot] = f;
    }
    if (popularity !== null) hotness(best, n);
  }

  /** Whether the current request's prefix is too popular for its holders (prefix pull suspended). */
  let spreading = false;
  /** How many holders the current request's prefix wants (0: not counted); more than one is hot. */
  let wantedHolders = 0;

  /**
   * Counts the request under the deepest block the index knows for it and decides whether its
   * prefix spreads: wanted holders = ⌈share × candidates⌉; holders = endpoints matching at least
   * 90% of the best match.
   */
  function hotness(best: number, candidates: number): void {
    const pop = popularity as DecayedShare<number>;
    spreading = false;
    wantedHolders = 0;
    if (best <= 0) {
      pop.count(null);
      return;
    }
    const key = hashes[Math.max(0, Math.round(best * hashCount) - 1)];
    const wanted = Math.ceil(pop.count(key) * candidates);
    wantedHolders = wanted;
    if (wanted <= 1) return;
    let holders = 0;
    for (let t = 0; t < publishedLen; t++) if (matchBySlot[touched[t]] >= 0.9 * best) holders++;
    spreading = holders < wanted;
  }

  const scorer: PrefixCacheScorer = {
    typedName: typed(PREFIX_CACHE_SCORER, name),
    produces: [PREFIX_MATCH],
    statsKey: PREFIX_STATS,
    prepare,
    score(cycle, cands, out) {
      // The profile prepares every cycle before its filters; a caller that scores alone need not.
      if (hashedFor !== cycle) prepare(cycle, cands);
      const n = cands.length;
      const slots = cands.slots;
      let best = 0;
      for (let k = 0; k < n; k++) {
        const f = matchBySlot[slots[k]];
        if (f > best) best = f;
        out[k] = f;
      }
      if (hashCount === 0) return;
      // A hot prefix short of holders: no pull, the balance terms choose (a new holder, usually).
      if (spreading) out.fill(best, 0, n);
      const matched = Math.round(best * hashCount);
      const req = cycle.request;
      stats.blocksLooked += hashCount;
      stats.blocksMatched += matched;
      stats.bytesMatched += Math.min(matched * blockBytes, req.promptEnd - req.promptStart);
    },
    preRequest(cycle, picked, count) {
      if (count === 0 || hashedFor !== cycle || hashCount === 0) return;
      // The primary endpoint now caches this prompt's blocks.
      const slot = picked[0];
      const cap = Math.ceil((autoTune && pool.cacheNumBlocks[slot] > 0 ? pool.cacheNumBlocks[slot] : lruCapacity) / blocksPerHash);
      indexer.add(slot, hashes, hashCount, cap);
      if (ages !== null) {
        // New blocks, in hash units: the whole prompt minus what the endpoint likely has cached.
        // The part past the hashed cap is unseen: it counts as new, but at most as much as the
        // hashed part, so a long prefix shared past the cap ages the pod less per hit.
        const prompt = cycle.request.inputTokens / (blockBytes / CHARS_PER_TOKEN);
        const fresh = Math.min(prompt, 2 * hashCount) - matchBySlot[slot] * hashCount;
        if (fresh > 0) indexer.tick(slot, fresh);
      }
      hashedFor = null;
    },
    stats() {
      stats.indexSize = indexer.size;
      return { ...stats };
    },
  };
  return scorer;
};
