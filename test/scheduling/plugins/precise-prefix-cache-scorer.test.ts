/**
 * The precise scorer over events delivered in-process (no sockets: `discoverPods: false`), as the
 * scorecard drives it; the ZMQ path is tested in test/datalayer/kv-events.
 */
import { Encoder } from '@msgpack/msgpack';
import { afterEach, describe, expect, it } from 'vitest';
import type { PrecisePrefixCacheScorer } from '../../../src/scheduling/plugins/precise-prefix-cache-scorer/index.js';
import type { SchedulingRequest } from '../../../src/scheduling/framework/cycle.js';
import { PREFIX_MATCH } from '../../../src/scheduling/framework/prefix-match.js';
import { makePool } from '../../support/pool.js';
import { allCandidates, cycle, plugin } from '../../support/plugin.js';
import { request } from '../../support/scheduling.js';

const enc = new Encoder({ useBigInt64: true });
const prompt = Array.from({ length: 64 }, (_, i) => 1000 + i); // 4 blocks of 16
const scorers: PrecisePrefixCacheScorer[] = [];
afterEach(async () => {
  for (const s of scorers.splice(0)) await s.close();
});

function setup(params: Record<string, unknown> = {}) {
  const pool = makePool([{}, {}, {}]);
  const s = plugin<PrecisePrefixCacheScorer>('precise-prefix-cache-scorer', pool, { kvEventsConfig: { discoverPods: false }, tokenizer: { backend: 'none' }, ...params });
  scorers.push(s);
  const seq = [0, 0, 0];
  /** Slot `slot` stores blocks [0, n) of `tokens` (engine hashes salted per slot). */
  const store = (slot: number, n: number, tokens = prompt) =>
    s.events.deliver(slot, seq[slot]++, enc.encode([0, [['BlockStored', Array.from({ length: n }, (_, i) => BigInt(slot * 1e6 + i + 1)), null, tokens.slice(0, n * 16), 16, null, 'GPU']]]));
  const score = (req: SchedulingRequest) => {
    const cands = allCandidates(pool);
    const out = new Float64Array(cands.length);
    const c = cycle(pool, req);
    s.score(c, cands, out);
    return { out: [...out], match: [0, 1, 2].map((k) => c.get(PREFIX_MATCH)?.fraction(k)) };
  };
  return { pool, s, store, score, seq };
}

const withTokens = (tokens: number[]): SchedulingRequest => ({ ...request('m', 'x'), tokenIds: Int32Array.from(tokens) });

describe('precise-prefix-cache-scorer', () => {
  const table: Array<{ name: string; held: [number, number, number]; tokens: number[]; expected: number[] }> = [
    { name: 'scores the fraction of leading blocks each endpoint holds', held: [4, 2, 0], tokens: prompt, expected: [1, 0.5, 0] },
    { name: 'ignores a partial trailing block', held: [2, 1, 0], tokens: prompt.slice(0, 40), expected: [1, 0.5, 0] },
    { name: 'scores zero for a prompt shorter than a block', held: [4, 4, 4], tokens: prompt.slice(0, 10), expected: [0, 0, 0] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const { store, score } = setup();
      t.held.forEach((n, slot) => n > 0 && store(slot, n));
      const r = score(withTokens(t.tokens));
      expect(r.out).toEqual(t.expected);
      expect(r.match).toEqual(t.expected);
    });
  }

  it('falls back to the approximate index without token ids, counted', () => {
    const { s, store, score } = setup();
    store(0, 4);
    expect(score(request('m', 'no tokens here')).out).toEqual([0, 0, 0]);
    expect(s.stats().fallbacks.no_tokens).toBe(1);
  });

  it('serves an unreliable endpoint from the approximate index and the rest precisely', async () => {
    const { s, store, score, seq } = setup({ reorderGrace: '1ms' });
    store(0, 4);
    store(1, 4);
    // Slot 1 misses a batch: no replay socket, so after the grace it is unreliable and its state dropped.
    seq[1]++;
    store(1, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(s.events.reliable(1)).toBe(false);
    expect(score(withTokens(prompt)).out).toEqual([1, 0, 0]);
    expect(s.stats().fallbacks.unreliable_endpoint).toBeGreaterThan(0);
    expect(s.stats()).toMatchObject({ gaps: 1, unreliableEndpoints: 1 });
  });

  it('uses the configured block size, and falls back for endpoints whose events use another', () => {
    const { s, store, score } = setup({ tokenProcessorConfig: { blockSizeTokens: 8 } });
    store(0, 4);
    expect(score(withTokens(prompt)).out).toEqual([0, 0, 0]);
    expect(s.stats().fallbacks.block_size_mismatch).toBeGreaterThan(0);
  });

  it('shows per-endpoint state and totals for /debug/endpoints and metrics', () => {
    const { s, store } = setup();
    store(0, 3);
    store(2, 1);
    const st = s.stats();
    expect(st.endpoint(0)).toMatchObject({ blocks: 3, lastSeq: 0, gaps: 0, resyncs: 0, reliable: true, blockSize: 16 });
    expect(st).toMatchObject({ blocks: 4, events: { stored: 4, removed: 0, cleared: 0 } });
  });

  const bad: Array<{ name: string; params: Record<string, unknown>; message: RegExp }> = [
    { name: 'a non-object section', params: { kvEventsConfig: 3 }, message: /kvEventsConfig must be an object/ },
    { name: 'a bad port', params: { kvEventsConfig: { podDiscoveryConfig: { socketPort: 70000 } } }, message: /kvEventsConfig\.podDiscoveryConfig\.socketPort must be <= 65535/ },
    { name: 'central mode', params: { kvEventsConfig: { zmqEndpoint: 'tcp://*:5557' } }, message: /zmqEndpoint is not supported/ },
    { name: 'a local tokenizer without a path', params: { tokenizer: { backend: 'local' } }, message: /tokenizer\.path is required/ },
    { name: 'a missing tokenizer directory', params: { tokenizer: { backend: 'local', path: '/nonexistent' } }, message: /tokenizer\.path .*ENOENT/ },
  ];
  for (const b of bad) {
    it(`rejects ${b.name} with a message naming the parameter`, () => {
      expect(() => plugin('precise-prefix-cache-scorer', makePool([{}]), b.params)).toThrow(b.message);
    });
  }
});
