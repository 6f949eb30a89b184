import { describe, expect, it } from 'vitest';
import { RunCounter, formatDuration } from '../../src/loadgen/progress.js';

describe('run counter', () => {
  it('counts runs and extrapolates the time left from the mean per run', () => {
    let now = 0;
    const c = new RunCounter(4, () => now);
    expect(c.label()).toBe('run 1/4');
    expect(c.eta()).toBe('ETA ?');
    now = 10_000;
    expect(c.eta(0.5)).toBe('ETA 1m10s'); // 20 s per run, 3.5 runs left
    c.finish();
    expect(c.label()).toBe('run 2/4');
    expect(c.eta()).toBe('ETA 30s');
    c.finish();
    c.finish();
    c.finish();
    expect(c.label()).toBe('run 4/4');
    expect(c.eta()).toBe('ETA 0s');
    expect(formatDuration(3_725_000)).toBe('1h02m');
  });
});
