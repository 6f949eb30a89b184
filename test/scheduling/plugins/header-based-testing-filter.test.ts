import { describe, expect, it } from 'vitest';
import type { Filter } from '../../../src/scheduling/framework/plugin.js';
import { makePool } from '../../support/pool.js';
import { kept, plugin } from '../../support/plugin.js';
import { request } from '../../support/scheduling.js';

describe('header-based-testing-filter', () => {
  const pool = makePool([{}, {}, {}]);
  const f = plugin<Filter>('header-based-testing-filter', pool);
  it('keeps endpoints named by ip or ip:port', () => {
    expect(kept(f, pool, request('m', 'x', { 'test-epp-endpoint-selection': '192.168.1.1, 192.168.1.3:8000' }))).toEqual(['pod-0', 'pod-2']);
  });
  it('keeps nothing without the header or with unknown addresses', () => {
    expect(kept(f, pool, request('m'))).toEqual([]);
    expect(kept(f, pool, request('m', 'x', { 'test-epp-endpoint-selection': '10.9.9.9' }))).toEqual([]);
  });
});
