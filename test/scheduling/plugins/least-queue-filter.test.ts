import { describe, expect, it } from 'vitest';
import type { Filter } from '../../../src/scheduling/framework/plugin.js';
import { makePool } from '../../support/pool.js';
import { kept, plugin } from '../../support/plugin.js';

describe('least-queue-filter', () => {
  it('keeps queues in [min, min + (max-min)/n]', () => {
    const pool = makePool([{ q: 0 }, { q: 2 }, { q: 3 }, { q: 10 }]);
    // (10 - 0) / 4 = 2.5 -> floor 2: keep q <= 2
    expect(kept(plugin<Filter>('least-queue-filter', pool), pool)).toEqual(['pod-0', 'pod-1']);
  });
});
