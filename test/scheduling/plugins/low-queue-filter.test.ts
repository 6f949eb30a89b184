import { describe, expect, it } from 'vitest';
import type { Filter } from '../../../src/scheduling/framework/plugin.js';
import { makePool } from '../../support/pool.js';
import { kept, plugin } from '../../support/plugin.js';

describe('low-queue-filter', () => {
  it('keeps queues at or under the threshold', () => {
    const pool = makePool([{ q: 3 }, { q: 200 }, { q: 128 }]);
    expect(kept(plugin<Filter>('low-queue-filter', pool), pool)).toEqual(['pod-0', 'pod-2']);
    expect(kept(plugin<Filter>('low-queue-filter', pool, { threshold: 2 }), pool)).toEqual([]);
  });
});
