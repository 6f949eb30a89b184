import { describe, expect, it } from 'vitest';
import { producersFirst } from '../../../src/scheduling/build.js';
import { CycleKey, CycleState } from '../../../src/scheduling/framework/cycle.js';
import type { AnyPlugin } from '../../../src/scheduling/framework/plugin.js';
import { StatsKey, StatsSources } from '../../../src/scheduling/framework/stats.js';

const request = { requestId: 'r', targetModel: 'm', body: null, promptStart: 0, promptEnd: 0, cacheSalt: '', inputTokens: 0, outputTokens: 0, headers: null, priority: 0 };

describe('typed cycle data', () => {
  it('stores and reads values by key, one slot per key', () => {
    const a = new CycleKey<{ n: number }>('a');
    const b = new CycleKey<string>('a'); // same name, different key
    const cycle = new CycleState(request, null as never, 0, Math.random, null);
    expect(cycle.get(a)).toBeUndefined();
    cycle.set(a, { n: 1 });
    cycle.set(b, 'x');
    expect(cycle.get(a)?.n).toBe(1);
    expect(cycle.get(b)).toBe('x');
  });
});

describe('producersFirst', () => {
  const K1 = new CycleKey<number>('k1');
  const K2 = new CycleKey<number>('k2');
  const p = (name: string, produces: CycleKey<number>[] = [], consumes: CycleKey<number>[] = []): AnyPlugin => ({ typedName: { type: name, name }, produces, consumes });
  const names = (ps: AnyPlugin[]) => ps.map((x) => x.typedName.name);

  it.each([
    { name: 'keeps the order when nothing depends on anything', input: [p('a'), p('b'), p('c')], want: ['a', 'b', 'c'] },
    { name: 'moves a producer before its consumer', input: [p('reader', [], [K1]), p('x'), p('writer', [K1])], want: ['writer', 'reader', 'x'] },
    { name: 'follows chains', input: [p('c', [], [K2]), p('b', [K2], [K1]), p('a', [K1])], want: ['a', 'b', 'c'] },
  ])('$name', ({ input, want }) => {
    expect(names(producersFirst(input, (x) => x))).toEqual(want);
  });

  it('refuses a dependency cycle with a config error', () => {
    expect(() => producersFirst([p('a', [K1], [K2]), p('b', [K2], [K1])], (x) => x)).toThrow(/need each other's cycle data/);
  });
});

describe('stats sources', () => {
  it('finds the publisher of a key without knowing the plugin', () => {
    const KEY = new StatsKey<{ size: number }>('index');
    const other = new StatsKey<number>('other');
    const sources = new StatsSources([{ typedName: { type: 't', name: 't' } }, { statsKey: KEY, stats: () => ({ size: 3 }) }]);
    expect(sources.reader(KEY)?.()).toEqual({ size: 3 });
    expect(sources.reader(other)).toBeNull();
  });
});
