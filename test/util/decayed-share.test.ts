import { describe, expect, it } from 'vitest';
import { DecayedShare } from '../../src/util/decayed-share.js';

describe('decayed share', () => {
  it('reads a key\'s share of the recent requests, decaying with the half-life', () => {
    const pop = new DecayedShare<number>(100);
    for (let i = 0; i < 2000; i++) pop.count(i % 4 === 0 ? 7 : null);
    expect(pop.share(7)).toBeCloseTo(0.25, 1);
    expect(pop.share(8)).toBe(0);
    // 100 requests without key 7 halve its share (the decayed total is steady by now).
    const before = pop.share(7);
    for (let i = 0; i < 100; i++) pop.count(null);
    expect(pop.share(7) / before).toBeCloseTo(0.5, 2);
  });
});
