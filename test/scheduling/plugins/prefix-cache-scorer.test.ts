import { describe, expect, it } from 'vitest';
import type { PrefixCacheScorer } from '../../../src/scheduling/plugins/prefix-cache-scorer/index.js';
import { hashBlocks, seedHash } from '../../../src/scheduling/prefix/hash.js';
import { Candidates } from '../../../src/scheduling/framework/plugin.js';
import { PREFIX_MATCH } from '../../../src/scheduling/framework/prefix-match.js';
import { makePool, snapshot } from '../../support/pool.js';
import { allCandidates, cycle, plugin } from '../../support/plugin.js';
import { request } from '../../support/scheduling.js';

/** Scores every pod, then records the prompt on pod `pickSlot` (the primary of the pick). */
function scoreAndRoute(s: PrefixCacheScorer, pool: ReturnType<typeof makePool>, prompt: string, pickSlot: number | null): number[] {
  const c = cycle(pool, request('m', prompt));
  const cands = allCandidates(pool);
  const out = new Float64Array(cands.length);
  s.score(c, cands, out);
  if (pickSlot !== null) s.preRequest(c, Int32Array.of(pickSlot), 1);
  return [...out];
}

describe('prefix hashing', () => {
  const b = Buffer.from('aaaaaa');
  it('hashes full blocks and a trailing partial block; shorter than a block gives none', () => {
    const out = new Float64Array(16);
    expect(hashBlocks(b, 0, 6, 4, 256, seedHash('m', ''), out)).toBe(2);
    expect(hashBlocks(b, 0, 3, 4, 256, seedHash('m', ''), out)).toBe(0);
  });
  it('chains: equal hashes mean equal prefixes; model and salt change the chain', () => {
    const h = (s: string, model = 'm', salt = '') => {
      const out = new Float64Array(16);
      const n = hashBlocks(Buffer.from(s), 0, s.length, 4, 256, seedHash(model, salt), out);
      return [...out.subarray(0, n)];
    };
    expect(h('aaaabbbb')[0]).toBe(h('aaaacccc')[0]);
    expect(h('aaaabbbb')[1]).not.toBe(h('aaaacccc')[1]);
    expect(h('xxxxbbbb')[1]).not.toBe(h('aaaabbbb')[1]);
    expect(h('aaaa', 'other')[0]).not.toBe(h('aaaa')[0]);
    expect(h('aaaa', 'm', 'tenant-a')[0]).not.toBe(h('aaaa')[0]);
  });
  it('caps at maxBlocks', () => {
    const out = new Float64Array(16);
    expect(hashBlocks(Buffer.alloc(64, 97), 0, 64, 4, 3, 0, out)).toBe(3);
  });
  it('gives 53-bit integers', () => {
    const out = new Float64Array(64);
    const n = hashBlocks(Buffer.from('x'.repeat(256)), 0, 256, 4, 64, 12345, out);
    for (const v of out.subarray(0, n)) expect(Number.isSafeInteger(v) && v >= 0).toBe(true);
  });
});

describe('prefix-cache-scorer', () => {
  const params = { autoTune: false, blockSizeTokens: 1 };

  it('after aaaaaa went to pod 0, aaaabbbb matches 1 of 2 blocks there (0.5) and nothing elsewhere', () => {
    const pool = makePool([{}, {}, {}]);
    const s = plugin<PrefixCacheScorer>('prefix-cache-scorer', pool, params);
    expect(scoreAndRoute(s, pool, 'aaaaaa', 0)).toEqual([0, 0, 0]);
    expect(scoreAndRoute(s, pool, 'aaaabbbb', null)).toEqual([0.5, 0, 0]);
    expect(scoreAndRoute(s, pool, 'aaaaaa', null)).toEqual([1, 0, 0]);
  });

  it('auto-tunes the block size from the endpoint cache config (16 tokens: 128 chars = 2 blocks)', () => {
    const pool = makePool([{ blockSize: 16, numBlocks: 100 }, { blockSize: 16, numBlocks: 100 }]);
    const s = plugin<PrefixCacheScorer>('prefix-cache-scorer', pool);
    const prompt = 'p'.repeat(128);
    scoreAndRoute(s, pool, prompt, 1);
    expect(s.stats().indexSize).toBe(2);
    expect(scoreAndRoute(s, pool, prompt, null)).toEqual([0, 1]);
  });

  it('caps the blocks hashed with maxPrefixTokensToMatch', () => {
    const pool = makePool([{}]);
    const s = plugin<PrefixCacheScorer>('prefix-cache-scorer', pool, { ...params, maxPrefixTokensToMatch: 2 });
    scoreAndRoute(s, pool, 'aaaabbbbccccdddd', 0);
    expect(s.stats().indexSize).toBe(2);
  });

  it('evicts per endpoint at its LRU capacity and forgets endpoints that leave', () => {
    const pool = makePool([{}, {}]);
    const s = plugin<PrefixCacheScorer>('prefix-cache-scorer', pool, { ...params, lruCapacityPerServer: 2 });
    scoreAndRoute(s, pool, 'aaaabbbbcccc', 0); // 3 blocks into a capacity of 2: the first is evicted
    expect(s.stats().indexSize).toBe(2);
    // The walk stops at the first block nobody holds, so the evicted head hides the rest.
    expect(scoreAndRoute(s, pool, 'aaaabbbbcccc', null)).toEqual([0, 0]);
    scoreAndRoute(s, pool, 'zzzz', 1);
    expect(s.stats().indexSize).toBe(3);
    pool.remove(pool.endpoints()[0].key);
    expect(s.stats().indexSize).toBe(1);
  });

  it('staleFrom: on a pod under KV pressure, a match on blocks sent before it allocated that share of its cache counts less, nothing at staleAt', () => {
    const pool = makePool([{ kv: 0.9 }, {}]);
    // A ring of 40 one-token blocks; prompts of 8 blocks (32 chars at 4 chars per token).
    const s = plugin<PrefixCacheScorer>('prefix-cache-scorer', pool, { ...params, lruCapacityPerServer: 40, staleFrom: 0.5, staleAt: 1, staleKvUsage: 0.7 });
    const cands = allCandidates(pool);
    // Like scoreAndRoute, with the prompt's own token count (the clock advances by it).
    const routeWith = (scorer: PrefixCacheScorer, prompt: string, pickSlot: number | null): number[] => {
      const c = cycle(pool, { ...request('m', prompt), inputTokens: prompt.length / 4 });
      const out = new Float64Array(cands.length);
      scorer.score(c, cands, out);
      if (pickSlot !== null) scorer.preRequest(c, Int32Array.of(pickSlot), 1);
      return [...out];
    };
    const route = (prompt: string, pickSlot: number | null): number[] => routeWith(s, prompt, pickSlot);
    const shared = 'a'.repeat(32);
    route(shared, 0);
    expect(route(shared, null)).toEqual([1, 0]);
    // Its own 8 blocks and an unrelated 8-block prompt to pod 0: 16 of 40 allocated since (0.4), fresh.
    route('b'.repeat(32), 0);
    expect(route(shared, null)).toEqual([1, 0]);
    // Two more: 32 of 40 (0.8), between staleFrom and staleAt: (1 - 0.8) / (1 - 0.5) of the match.
    route('c'.repeat(32), 0);
    route('d'.repeat(32), 0);
    expect(route(shared, null)[0]).toBeCloseTo(0.4, 9);
    // At staleAt the pod is as good as cold, though its ring (40 blocks written) still names the blocks.
    route('e'.repeat(32), 0);
    expect(s.stats().indexSize).toBe(40);
    expect(route(shared, null)).toEqual([0, 0]);
    // With room to spare in its cache (KV usage under staleKvUsage) the pod keeps idle prefixes: full match.
    const pod0 = pool.endpoints()[0];
    pool.recordMetrics(pod0, snapshot({ kv: 0.5 }));
    expect(route(shared, null)).toEqual([1, 0]);
    pool.recordMetrics(pod0, snapshot({ kv: 0.9 }));
    expect(route(shared, null)).toEqual([0, 0]);
    // Sending the prompt again makes it fresh there.
    route(shared, 0);
    expect(route(shared, null)).toEqual([1, 0]);
    // A prompt past the hash cap: its unseen part counts at most as much as its hashed part.
    const capped = plugin<PrefixCacheScorer>('prefix-cache-scorer', pool, { ...params, lruCapacityPerServer: 40, maxPrefixBlocksToMatch: 4, staleFrom: 0.5, staleAt: 1 });
    const routeCapped = (prompt: string, pickSlot: number | null): number => routeWith(capped, prompt, pickSlot)[0];
    const long = 'L'.repeat(128); // 32 tokens, 4 of them hashed
    routeCapped(long, 0);
    routeCapped('M'.repeat(128), 0); // 8 + 8 of 40 allocated since (not 32 + 32): fresh
    expect(routeCapped(long, null)).toBe(1);
    routeCapped('N'.repeat(128), 0);
    routeCapped('O'.repeat(128), 0); // 32 of 40: (1 - 0.8) / (1 - 0.5)
    expect(routeCapped(long, null)).toBeCloseTo(0.4, 9);
    expect(() => plugin('prefix-cache-scorer', pool, { staleFrom: 0.8, staleAt: 0.5 })).toThrow(
      'plugin "prefix-cache-scorer": parameter staleAt must be greater than staleFrom (0.8), got 0.5',
    );
  });

  it('scores 0 everywhere for prompts shorter than a block and for header-only requests', () => {
    const pool = makePool([{}, {}]);
    const s = plugin<PrefixCacheScorer>('prefix-cache-scorer', pool, params);
    expect(scoreAndRoute(s, pool, 'abc', 0)).toEqual([0, 0]);
    const c = cycle(pool, { ...request('m'), body: null });
    const out = new Float64Array(2);
    s.score(c, allCandidates(pool), out);
    expect([...out]).toEqual([0, 0]);
  });

  it('counts a block held by several endpoints for each of them', () => {
    const pool = makePool([{}, {}, {}]);
    const s = plugin<PrefixCacheScorer>('prefix-cache-scorer', pool, params);
    scoreAndRoute(s, pool, 'aaaabbbb', 0);
    scoreAndRoute(s, pool, 'aaaacccc', 1);
    expect(scoreAndRoute(s, pool, 'aaaabbbb', null)).toEqual([1, 0.5, 0]);
    const empty = new Candidates(4);
    expect(() => s.score(cycle(pool), empty, new Float64Array(0))).not.toThrow();
  });

  it('spreadHotPrefixes: a prefix most requests share stops pulling until enough pods hold it; a rare one keeps its pull', () => {
    const pool = makePool([{}, {}, {}, {}]);
    const s = plugin<PrefixCacheScorer>('prefix-cache-scorer', pool, { ...params, spreadHotPrefixes: true, popularityHalfLife: 50 });
    // A hot system prompt ('hot!'), every request of it sent to pod 0, plus a rare one on pod 3.
    scoreAndRoute(s, pool, 'hot!q001', 0);
    scoreAndRoute(s, pool, 'rare', 3);
    let last: number[] = [];
    for (let i = 2; i < 12; i++) last = scoreAndRoute(s, pool, `hot!q${String(i).padStart(3, '0')}`, 0);
    // share ≈ 0.9 of 4 pods wants 4 holders; pod 0 alone holds it: no pull, the balance terms choose.
    expect(last).toEqual([0.5, 0.5, 0.5, 0.5]);
    // The pod the balance terms chose now holds it too; with every pod holding it, the plain scores return.
    for (const slot of [1, 2, 3]) scoreAndRoute(s, pool, 'hot!zzzz', slot);
    expect(scoreAndRoute(s, pool, 'hot!q999', null)).toEqual([0.5, 0.5, 0.5, 0.5]);
    // The rare prompt (under one pod's worth of the traffic) keeps its affinity.
    expect(scoreAndRoute(s, pool, 'rare', null)).toEqual([0, 0, 0, 1]);
    // The match it publishes for the filters says which prefix is hot (wants more than one holder).
    const matchOf = (scorer: PrefixCacheScorer, prompt: string) => {
      const c = cycle(pool, request('m', prompt));
      scorer.score(c, allCandidates(pool), new Float64Array(4));
      return c.get(PREFIX_MATCH);
    };
    const hotOf = (scorer: PrefixCacheScorer, prompt: string) => matchOf(scorer, prompt)?.hot();
    expect(hotOf(s, 'hot!q998')).toBe(true);
    expect(hotOf(s, 'rare')).toBe(false);
    // And how many holders it wants, ⌈share × 4 pods⌉: several for the hot prompt, one for the rare.
    const wanted = matchOf(s, 'hot!q997')?.wanted() ?? 0;
    expect(wanted).toBeGreaterThan(1);
    expect(wanted).toBeLessThanOrEqual(4);
    expect(matchOf(s, 'rare')?.wanted()).toBe(1);
    // Off (the Go EPP's scorer): the hot prompt pulls to its holder.
    const plain = plugin<PrefixCacheScorer>('prefix-cache-scorer', pool, params);
    for (let i = 0; i < 5; i++) scoreAndRoute(plain, pool, `hot!p${i}`, 0);
    expect(scoreAndRoute(plain, pool, 'hot!p999', null)).toEqual([0.5, 0, 0, 0]);
    // Without traffic counts no prefix is hot.
    expect(hotOf(plain, 'hot!p998')).toBe(false);
    expect(matchOf(plain, 'hot!p997')?.wanted()).toBe(0);
  });
});
