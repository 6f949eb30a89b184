/**
 * The Go EPP's documented scheduling cases (shared/reference/reference-epp.md section 7):
 * same pods, same weights, same expected pick and scores.
 */
import { describe, expect, it } from 'vitest';
import { makePool, type PodMetrics } from '../support/pool.js';
import { request, schedulerFor } from '../support/scheduling.js';

interface Case {
  name: string;
  target: string;
  pods: PodMetrics[];
  picked: string;
  totals: number[];
}

// Hermetic pods have MaxActiveModels = 0, so LoRA scores only 1 (active) or 0; prompts are short, so prefix is 0.
const cases: Case[] = [
  {
    name: '#1 rewrite my-model -> my-model-12345: lowest queue and KV wins',
    target: 'my-model-12345',
    pods: [{ q: 3, kv: 0.2 }, { q: 0, kv: 0.1 }, { q: 10, kv: 0.2 }],
    picked: '192.168.1.2:8000',
    totals: [1.5, 1.9, 0.8],
  },
  {
    name: '#2 sql-lora-1fdg2 active on pod 1',
    target: 'sql-lora-1fdg2',
    pods: [
      { q: 0, kv: 0.2, active: ['foo', 'bar'] },
      { q: 0, kv: 0.1, active: ['foo', 'sql-lora-1fdg2'] },
      { q: 10, kv: 0.2, active: ['foo', 'bar'] },
    ],
    picked: '192.168.1.2:8000',
    totals: [1.8, 2.9, 0.8],
  },
  {
    name: '#3 equal queues: affinity beats KV',
    target: 'sql-lora-1fdg2',
    pods: [
      { q: 10, kv: 0.2, active: ['foo', 'bar'] },
      { q: 10, kv: 0.4, active: ['foo', 'sql-lora-1fdg2'] },
      { q: 10, kv: 0.3, active: ['foo'] },
    ],
    picked: '192.168.1.2:8000',
    totals: [1.8, 2.6, 1.7],
  },
  {
    name: '#4 affinity and low KV beat an empty queue with high KV',
    target: 'sql-lora-1fdg2',
    pods: [
      { q: 6, kv: 0.2, active: ['foo', 'bar', 'sql-lora-1fdg2'] },
      { q: 0, kv: 0.85, active: ['foo'] },
      { q: 10, kv: 0.9, active: ['foo'] },
    ],
    picked: '192.168.1.1:8000',
    totals: [2.2, 1.15, 0.1],
  },
];

describe('Go EPP hermetic scheduling cases', () => {
  for (const c of cases) {
    it(c.name, () => {
      const pool = makePool(c.pods);
      const r = schedulerFor(pool).schedule(request(c.target), null, true);
      expect(r.kind).toBe('picked');
      if (r.kind !== 'picked') return;
      expect(r.endpoints.map((e) => e.key)).toEqual([c.picked]);
      const totals = r.explanation!.endpoints.map((e) => e.total);
      totals.forEach((t, i) => expect(t).toBeCloseTo(c.totals[i], 10));
    });
  }

  it('TestSchedule: critical adapter pod scores 2.8', () => {
    const pool = makePool([
      { q: 0, kv: 0.2, maxLora: 2, active: ['foo', 'bar'] },
      { q: 0, kv: 0.2, maxLora: 2, active: ['foo', 'critical'] },
      { q: 10, kv: 0.8, maxLora: 2, active: ['foo'] },
    ]);
    const r = schedulerFor(pool).schedule(request('critical'), null, true);
    expect(r.kind).toBe('picked');
    if (r.kind !== 'picked') return;
    expect(r.endpoints[0].name).toBe('pod-1');
    const best = r.explanation!.endpoints.find((e) => e.endpoint === r.endpoints[0].key)!;
    expect(best.total).toBeCloseTo(2.8, 10);
  });

  it('TestSchedule: no candidates is an error, not a pick', () => {
    const pool = makePool([]);
    expect(schedulerFor(pool).schedule(request('critical'), null, false).kind).toBe('no-candidates');
  });

  it('default weights (2/2/3) on case #1 still pick P1 with 3.8', () => {
    const pool = makePool(cases[0].pods);
    const cfg = `
plugins: [{type: queue-scorer}, {type: kv-cache-utilization-scorer}, {type: prefix-cache-scorer}, {type: max-score-picker}]
schedulingProfiles:
- name: default
  plugins:
  - {pluginRef: queue-scorer, weight: 2}
  - {pluginRef: kv-cache-utilization-scorer, weight: 2}
  - {pluginRef: prefix-cache-scorer, weight: 3}
`;
    const r = schedulerFor(pool, cfg).schedule(request('my-model'), null, true);
    expect(r.kind).toBe('picked');
    if (r.kind !== 'picked') return;
    expect(r.endpoints[0].key).toBe('192.168.1.2:8000');
    expect(r.explanation!.endpoints.map((e) => e.total)).toEqual([expect.closeTo(3.0, 10), expect.closeTo(3.8, 10), expect.closeTo(1.6, 10)]);
  });
});
