import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrefixIndexer } from '../../../src/scheduling/prefix/indexer.js';

/** Holders of each hash, via match() one hash at a time. */
function holders(ix: PrefixIndexer, h: number, slots = 8): number[] {
  const counts = new Float64Array(slots);
  const touched = new Int32Array(slots);
  const n = ix.match(Float64Array.of(h), 1, counts, touched, 0);
  return [...touched.subarray(0, n)].sort();
}

describe('PrefixIndexer', () => {
  it('records blocks per endpoint and matches them in order, stopping at the first unknown block', () => {
    const ix = new PrefixIndexer();
    ix.add(0, Float64Array.of(1, 2, 3), 3, 100);
    ix.add(1, Float64Array.of(1, 2), 2, 100);
    const counts = new Float64Array(4);
    const touched = new Int32Array(4);
    const n = ix.match(Float64Array.of(1, 2, 3, 4), 4, counts, touched, 0);
    expect(n).toBe(2);
    expect([...counts]).toEqual([3, 2, 0, 0]);
    counts.fill(0);
    ix.match(Float64Array.of(9, 1), 2, counts, touched, 0);
    expect([...counts]).toEqual([0, 0, 0, 0]);
    expect(ix.size).toBe(5);
  });

  it('ages each holder\'s deepest matched block by the blocks its endpoint allocated since that block was last sent', () => {
    const ix = new PrefixIndexer(true);
    ix.add(0, Float64Array.of(1, 2), 2, 100);
    ix.tick(0, 30); // a 30-block request went there after blocks 1 and 2
    ix.add(0, Float64Array.of(1), 1, 100); // block 1 sent again (recent: no write, but used now)
    ix.tick(0, 10);
    ix.add(1, Float64Array.of(1, 2), 2, 50);
    ix.tick(1, 5);
    const counts = new Float64Array(2);
    const touched = new Int32Array(2);
    const ages = new Float64Array(2);
    ix.match(Float64Array.of(1, 2), 2, counts, touched, 0, ages);
    // The deepest block (2): endpoint 0 allocated 40 of its 100 since; endpoint 1, 5 of 50.
    expect([...ages]).toEqual([0.4, 0.1]);
    ages.fill(0);
    ix.match(Float64Array.of(1), 1, counts, touched, 0, ages);
    expect([...ages]).toEqual([0.1, 0.1]); // block 1 was used again on endpoint 0 after the first tick
    ix.tick(7, 3); // an endpoint with no ring: nothing to age
    expect(ix.size).toBe(4);
    // An index that keeps no ages reports none (and stores no stamps).
    const plain = new PrefixIndexer();
    plain.add(0, Float64Array.of(1), 1, 100);
    plain.tick(0, 60);
    ages.fill(1);
    plain.match(Float64Array.of(1), 1, new Float64Array(2), touched, 0, ages);
    expect([...ages]).toEqual([0, 1]);
  });

  it('evicts the oldest blocks of an endpoint when its ring is full', () => {
    const ix = new PrefixIndexer();
    ix.add(0, Float64Array.of(1, 2, 3, 4, 5), 5, 3);
    expect(holders(ix, 1)).toEqual([]);
    expect(holders(ix, 2)).toEqual([]);
    expect(holders(ix, 5)).toEqual([0]);
    expect(ix.size).toBe(3);
  });

  it('refreshes blocks that have aged past half the ring, so hot blocks survive', () => {
    const ix = new PrefixIndexer();
    ix.add(0, Float64Array.of(100), 1, 4); // hot block
    for (let i = 0; i < 20; i++) {
      ix.add(0, Float64Array.of(i + 1), 1, 4);
      ix.add(0, Float64Array.of(100), 1, 4);
    }
    expect(holders(ix, 100)).toEqual([0]);
    expect(ix.size).toBeLessThanOrEqual(4);
  });

  it('forgets an endpoint that leaves, keeping other holders', () => {
    const ix = new PrefixIndexer();
    ix.add(0, Float64Array.of(1, 2), 2, 10);
    ix.add(1, Float64Array.of(1), 1, 10);
    ix.removeSlot(0);
    expect(holders(ix, 1)).toEqual([1]);
    expect(holders(ix, 2)).toEqual([]);
    expect(ix.size).toBe(1);
  });

  it('never exceeds each ring, and size equals the holders it reports (random workloads)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ slot: fc.nat(3), hashes: fc.array(fc.nat(30), { minLength: 1, maxLength: 10 }) }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 12 }),
        fc.option(fc.nat(3), { nil: null }),
        (ops, cap, removed) => {
          const ix = new PrefixIndexer();
          for (const op of ops) ix.add(op.slot, Float64Array.from(op.hashes), op.hashes.length, cap);
          if (removed !== null) ix.removeSlot(removed);
          let total = 0;
          const perSlot = [0, 0, 0, 0];
          for (let h = 0; h <= 30; h++)
            for (const s of holders(ix, h, 4)) {
              total++;
              perSlot[s]++;
            }
          if (removed !== null && perSlot[removed] !== 0) return false;
          return total === ix.size && perSlot.every((n) => n <= cap);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps the most recent blocks of each endpoint (the last block added is always held)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 20 }), (seq, cap) => {
        const ix = new PrefixIndexer();
        for (const h of seq) ix.add(2, Float64Array.of(h), 1, cap);
        return holders(ix, seq[seq.length - 1]).includes(2);
      }),
      { numRuns: 300 },
    );
  });
});
