import { describe, expect, it } from 'vitest';
import type { Scorer } from '../../../src/scheduling/framework/plugin.js';
import { makePool } from '../../support/pool.js';
import { plugin, scores } from '../../support/plugin.js';

describe('running-requests-size-scorer', () => {
  it('min-max over running requests, 1 when equal', () => {
    const pool = makePool([{ running: 8 }, { running: 0 }, { running: 4 }]);
    expect(scores(plugin<Scorer>('running-requests-size-scorer', pool), pool)).toEqual([0, 1, 0.5]);
    const eq = makePool([{ running: 2 }, { running: 2 }]);
    expect(scores(plugin<Scorer>('running-requests-size-scorer', eq), eq)).toEqual([1, 1]);
  });
});
