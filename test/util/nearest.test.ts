import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, nearestName } from '../../src/util/nearest.js';

describe('nearestName', () => {
  it.each([
    { name: 'queue-scorr', candidates: ['queue-scorer', 'kv-cache-utilization-scorer'], want: 'queue-scorer' },
    { name: 'schedulingProfile', candidates: ['plugins', 'schedulingProfiles'], want: 'schedulingProfiles' },
    { name: 'Plugins', candidates: ['plugins', 'parser'], want: 'plugins' },
    { name: 'prefix-cache', candidates: ['prefix-cache-scorer', 'queue-scorer'], want: 'prefix-cache-scorer' },
    { name: 'zzz', candidates: ['plugins', 'parser'], want: null },
    { name: 'weight', candidates: [], want: null },
  ])('$name → $want', ({ name, candidates, want }) => {
    expect(nearestName(name, candidates)).toBe(want);
  });

  it('measures edits', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('ABC', 'abc')).toBe(0);
  });

  it('formats the hint', () => {
    expect(didYouMean('pluginz', ['plugins'])).toBe(' (did you mean "plugins"?)');
    expect(didYouMean('xyzzy', ['plugins'])).toBe('');
  });
});
