import { describe, expect, it } from 'vitest';
import { requestKeys, rootKey } from '../../../src/datalayer/kv-events/block-keys.js';
import type { BlockStored } from '../../../src/datalayer/kv-events/decode.js';
import { PreciseIndex } from '../../../src/datalayer/kv-events/precise-index.js';

const BS = 4;

/** A BlockStored for blocks `from..to` (exclusive) of `tokens`, engine hashes base+i. */
function stored(tokens: number[], from: number, to: number, base: number, extra: Partial<BlockStored> = {}): BlockStored {
  return {
    type: 'stored',
    hashes: Array.from({ length: to - from }, (_, i) => base + from + i),
    parent: from === 0 ? null : base + from - 1,
    tokens: Int32Array.from(tokens.slice(from * BS, to * BS)),
    blockSize: BS,
    loraName: null,
    medium: null,
    extraKeys: null,
    ...extra,
  };
}

function keysOf(tokens: number[], adapter = '', salt = ''): Float64Array {
  const out = new Float64Array(64);
  const n = requestKeys(Int32Array.from(tokens), BS, 64, rootKey(adapter), salt, out);
  return out.subarray(0, n);
}

function matchOf(index: PreciseIndex, keys: Float64Array): number[] {
  const counts = new Float64Array(8);
  index.match(keys, keys.length, counts, new Int32Array(8));
  return Array.from(counts);
}

const prompt = Array.from({ length: 20 }, (_, i) => 100 + i); // 5 blocks

describe('PreciseIndex', () => {
  it("keys a request's tokens exactly as the events' tokens, whatever the engine hashes are", () => {
    const index = new PreciseIndex(() => 1000);
    // Slot 0 stored the whole prompt in two events (the second chained by its parent's engine hash).
    index.apply(0, stored(prompt, 0, 2, 7_000));
    index.apply(0, stored(prompt, 2, 5, 7_000));
    // Slot 1 (different engine hash seeds) holds the first 3 blocks.
    index.apply(1, stored(prompt, 0, 3, 9_000_000));
    expect(matchOf(index, keysOf(prompt)).slice(0, 2)).toEqual([5, 3]);
    // A different adapter or cache salt is a different chain.
    expect(matchOf(index, keysOf(prompt, 'tenant-a')).slice(0, 2)).toEqual([0, 0]);
    expect(matchOf(index, keysOf(prompt, '', 'salt')).slice(0, 2)).toEqual([0, 0]);
  });

  it('matches salted and adapter chains when the events carry them', () => {
    const index = new PreciseIndex(() => 1000);
    index.apply(0, stored(prompt, 0, 2, 1, { extraKeys: ['salt\u0000', null] }));
    index.apply(1, stored(prompt, 0, 2, 1, { loraName: 'tenant-a', extraKeys: ['tenant-a\u0000', 'tenant-a\u0000'] }));
    expect(index.knowsAdapter('tenant-a')).toBe(true);
    expect(matchOf(index, keysOf(prompt.slice(0, 8), '', 'salt')).slice(0, 2)).toEqual([2, 0]);
    expect(matchOf(index, keysOf(prompt.slice(0, 8), 'tenant-a')).slice(0, 2)).toEqual([0, 2]);
  });

  it('removes by engine hash, clears a slot, and counts what it cannot key', () => {
    const index = new PreciseIndex(() => 1000);
    index.apply(0, stored(prompt, 0, 3, 1));
    index.apply(0, { type: 'removed', hashes: [1 + 1], medium: 'GPU' });
    expect(matchOf(index, keysOf(prompt))[0]).toBe(1); // block 1 gone: the run stops after block 0
    index.apply(0, stored(prompt, 4, 5, 50)); // parent 53 was never stored
    expect(index.counts.skipped.unknown_parent).toBe(1);
    index.apply(0, { ...stored(prompt, 0, 1, 60), medium: 'CPU' });
    expect(index.counts.skipped.other_medium).toBe(1);
    index.apply(0, { type: 'cleared' });
    expect(index.blocksOf(0)).toBe(0);
    expect(index.keys).toBe(0);
  });

  it("holds at most the endpoint's block count, dropping the oldest blocks", () => {
    const index = new PreciseIndex(() => 3);
    index.apply(0, stored(prompt, 0, 5, 1));
    expect(index.blocksOf(0)).toBe(3);
    expect(index.counts.overCapacity).toBe(2);
    // Blocks 0 and 1 were the oldest: the request now matches nothing from block 0.
    expect(matchOf(index, keysOf(prompt))[0]).toBe(0);
  });

  it('keeps one holder entry per slot when two engine blocks share a key', () => {
    const index = new PreciseIndex(() => 1000);
    index.apply(0, stored(prompt, 0, 1, 1));
    index.apply(0, stored(prompt, 0, 1, 2)); // same tokens, another engine hash
    index.apply(0, { type: 'removed', hashes: [1], medium: null });
    expect(matchOf(index, keysOf(prompt.slice(0, 4)))[0]).toBe(1);
    index.apply(0, { type: 'removed', hashes: [2], medium: null });
    expect(matchOf(index, keysOf(prompt.slice(0, 4)))[0]).toBe(0);
  });
});
