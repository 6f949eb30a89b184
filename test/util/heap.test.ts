import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryHeap } from '../../src/util/heap.js';

describe('BinaryHeap', () => {
  it('pops in order, stable on ties by a second key (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (keys) => {
        const h = new BinaryHeap<{ k: number; seq: number }>((a, b) => a.k < b.k || (a.k === b.k && a.seq < b.seq));
        keys.forEach((k, seq) => h.push({ k, seq }));
        const out: Array<{ k: number; seq: number }> = [];
        for (let x = h.pop(); x !== undefined; x = h.pop()) out.push(x);
        const want = keys.map((k, seq) => ({ k, seq })).sort((a, b) => a.k - b.k || a.seq - b.seq);
        expect(out).toEqual(want);
      }),
    );
  });

  it('peeks, sizes and retains', () => {
    const h = new BinaryHeap<number>((a, b) => a < b);
    expect(h.peek()).toBeUndefined();
    for (const n of [5, 1, 4, 2, 3]) h.push(n);
    expect([h.size, h.peek()]).toEqual([5, 1]);
    h.retain((n) => n % 2 === 1);
    expect([h.pop(), h.pop(), h.pop(), h.pop()]).toEqual([1, 3, 5, undefined]);
  });
});
