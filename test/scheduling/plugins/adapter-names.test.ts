import { describe, expect, it } from 'vitest';
import { learnAdapterNames } from '../../../src/scheduling/plugins/adapter-names.js';
import { makePool, snapshot } from '../../support/pool.js';

describe('adapter names learnt from scrapes', () => {
  it('without a served base model, only names a scrape reported running or waiting are adapters', () => {
    const pool = makePool([{}, {}]);
    const names = learnAdapterNames(pool);
    const [a, b] = pool.endpoints();
    pool.recordMetrics(a, snapshot({ active: ['sql-lora'] }));
    pool.recordMetrics(b, snapshot({ waiting: ['tweet-lora'] }));
    expect([...names.reported].sort()).toEqual(['sql-lora', 'tweet-lora']);
    expect(names.isAdapter('sql-lora')).toBe(true);
    expect(names.isAdapter('tweet-lora')).toBe(true);
    expect(names.isAdapter('never-seen')).toBe(false);
  });

  it('with the served base model known, any other name is an adapter before a scrape reports it', () => {
    const pool = makePool([{}]);
    const names = learnAdapterNames(pool);
    const [a] = pool.endpoints();
    pool.recordMetrics(a, { ...snapshot({ active: ['sql-lora'] }), servedModel: 'meta-llama/Llama-3.1-8B-Instruct' });
    expect(names.isAdapter('meta-llama/Llama-3.1-8B-Instruct')).toBe(false);
    expect(names.isAdapter('sql-lora')).toBe(true);
    expect(names.isAdapter('tail-adapter-31')).toBe(true);
    expect(names.reported.has('tail-adapter-31')).toBe(false);
  });

  it('keeps a bounded number of base-model names from hostile pages', () => {
    const pool = makePool([{}]);
    const names = learnAdapterNames(pool);
    const [a] = pool.endpoints();
    for (let i = 0; i < 200; i++) pool.recordMetrics(a, { ...snapshot({}), servedModel: `base-${i}` });
    expect(names.isAdapter('base-10')).toBe(false);
    // Past the bound a new base name is not learnt, so it reads as an adapter.
    expect(names.isAdapter('base-150')).toBe(true);
  });
});
