import { describe, expect, it } from 'vitest';
import type { Scorer } from '../../../src/scheduling/framework/plugin.js';
import { makePool } from '../../support/pool.js';
import { plugin, scores } from '../../support/plugin.js';
import { request } from '../../support/scheduling.js';

describe('lora-affinity-scorer', () => {
  it('scores 1.0 / 0.8 / 0.8 / 0.6 / 0.0 as the Go EPP test does', () => {
    const pool = makePool([
      { active: ['active-model-1'], maxLora: 5 },
      { active: ['active-model-2'], waiting: ['active-model-1'], maxLora: 5 },
      { active: ['active-model-2'], maxLora: 2 },
      { active: ['active-model-3'], waiting: ['active-model-1'], maxLora: 2 },
      { active: ['active-model-4', 'active-model-5'], maxLora: 2 },
    ]);
    const s = plugin<Scorer>('lora-affinity-scorer', pool);
    expect(scores(s, pool, request('active-model-1'))).toEqual([1, 0.8, 0.8, 0.6, 0]);
  });

  it('gives 0 to endpoints never scraped', () => {
    const pool = makePool([]);
    pool.upsert({ address: '10.0.0.1', port: 8000 });
    expect(scores(plugin<Scorer>('lora-affinity-scorer', pool), pool, request('a'))).toEqual([0]);
  });

  it('takes custom scores as parameters and validates them', () => {
    const pool = makePool([{ active: ['a'], maxLora: 1 }, { maxLora: 1 }]);
    const s = plugin<Scorer>('lora-affinity-scorer', pool, { activeScore: 0.9, freeSlotScore: 0.5 });
    expect(scores(s, pool, request('a'))).toEqual([0.9, 0.5]);
    expect(() => plugin('lora-affinity-scorer', pool, { activeScore: 2 })).toThrow(/activeScore must be <= 1/);
  });
});
