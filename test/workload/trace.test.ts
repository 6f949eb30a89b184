/**
 * Request traces (JSONL): every line validated with its line number in the error, records sorted
 * and rebased, a formatted record reads back the same, and a trace replaces a scenario's workload.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatTraceRecord, loadTrace, parseTrace, TRACE_LIMITS } from '../../src/workload/trace.js';
import { scenarioArrivals, traceScenario, withTrace } from '../../src/workload/trace-scenario.js';
import { parseScenario } from '../../src/workload/scenario.js';
import { WorkloadGenerator, promptText } from '../../src/workload/workload.js';
import { countTokens } from '../../src/workload/tokenizer.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = [
  '{"offset_ms": 1500, "input_tokens": 900, "output_tokens": 40, "prefix_group": "sys-a", "prefix_tokens": 600, "tenant": "team-a"}',
  '',
  '{"offset_ms": 1000, "input_tokens": 120, "output_tokens": 8, "adapter": "sql-lora"}',
  '{"offset_ms": 2250.5, "input_tokens": 700, "output_tokens": 16, "prefix_group": "sys-a", "prefix_tokens": 600, "endpoint": "10.0.0.7:8000", "status": 200, "ttft_ms": 41.2, "tpot_ms": -1, "model": "m", "door": "proxy", "cached_tokens": 592}',
].join('\n');

describe('trace parsing', () => {
  it('sorts by arrival, rebases to 0, keeps optional and observed fields', () => {
    const t = parseTrace(GOOD, 'good.jsonl');
    expect(t.records.map((r) => r.offsetMs)).toEqual([0, 500, 1250.5]);
    expect(t.records[0]).toMatchObject({ inputTokens: 120, outputTokens: 8, adapter: 'sql-lora', prefixGroup: null, prefixTokens: 0, observed: null });
    expect(t.records[1]).toMatchObject({ prefixGroup: 'sys-a', prefixTokens: 600, tenant: 'team-a' });
    expect(t.records[2].observed).toEqual({ model: 'm', endpoint: '10.0.0.7:8000', door: 'proxy', status: 200, ttftMs: 41.2, tpotMs: -1, cachedTokens: 592 });
  });

  it('formats a record that parses back to the same record', () => {
    const t = parseTrace(GOOD);
    const again = parseTrace(t.records.map(formatTraceRecord).join('\n'));
    expect(again.records).toEqual(t.records);
  });

  it.each([
    ['{"offset_ms": 0, "input_tokens": 10}', 't.jsonl:1: output_tokens: is required'],
    ['{"offset_ms": 0, "input_tokens": 10, "output_tokens": 1}\n{"offset_ms": -5, "input_tokens": 10, "output_tokens": 1}', 't.jsonl:2: offset_ms: must be a number of ms'],
    ['\n\n{"offset_ms": 0, "input_tokens": 1.5, "output_tokens": 1}', 't.jsonl:3: input_tokens: must be an integer in [1,'],
    ['{"offset_ms": 0, "input_tokens": 10, "output_tokens": 0}', 't.jsonl:1: output_tokens: must be an integer in [1,'],
    ['{"offset_ms": 0, "input_tokens": 10, "output_tokens": 1, "prompt": "secret"}', 't.jsonl:1: prompt: unknown field'],
    ['{"offset_ms": 0, "input_tokens": 10, "output_tokens": 1, "prefix_group": "g"}', 't.jsonl:1: prefix_tokens: is required with prefix_group'],
    ['{"offset_ms": 0, "input_tokens": 10, "output_tokens": 1, "prefix_group": "g", "prefix_tokens": 11}', 't.jsonl:1: prefix_tokens: must be an integer in [0, 10]'],
    ['{"offset_ms": 0, "input_tokens": 10, "output_tokens": 1, "prefix_tokens": 3}', 't.jsonl:1: prefix_tokens: needs prefix_group'],
    ['{"offset_ms": 0, "input_tokens": 10, "output_tokens": 1, "tenant": ""}', 't.jsonl:1: tenant: must be a non-empty string'],
    ['{"offset_ms": 0, "input_tokens": 10, "output_tokens": 1, "ttft_ms": "fast"}', 't.jsonl:1: ttft_ms: must be a number of ms'],
    ['{"offset_ms": 0, "input_tokens": 10, "output_tokens": 1}\n{"offset_ms": 0, "input_tokens"', 't.jsonl:2: not JSON'],
    ['[1, 2, 3]', 't.jsonl:1: must be a JSON object'],
    ['\n   \n', 't.jsonl: has no records'],
    [`{"offset_ms": 0, "input_tokens": 10, "output_tokens": 1, "tenant": "${'x'.repeat(TRACE_LIMITS.maxLineChars)}"}`, 't.jsonl:1: line longer than'],
  ])('rejects %j with the line and field', (text, message) => {
    expect(() => parseTrace(text, 't.jsonl')).toThrow(`invalid config: ${message}`);
  });

  it('names a missing file', () => {
    expect(() => loadTrace(join(dir, 'nope.jsonl'))).toThrow(/invalid config: .*nope\.jsonl: ENOENT/);
  });
});

describe('a trace as a scenario', () => {
  it("replaces the stages and lengths; a group shares its prefix; tenants send the fairness id", () => {
    const file = join(dir, 'good.jsonl');
    writeFileSync(file, GOOD);
    const sc = traceScenario(loadTrace(file), 2);
    expect(sc.arrivals.stages).toHaveLength(1);
    expect(scenarioArrivals(sc, 100).map((a) => a.at)).toEqual([0, 250, 625.25]);
    expect(sc.workload.lora?.adapters).toEqual(['sql-lora']);
    const gen = new WorkloadGenerator(sc, 'base');
    const reqs = scenarioArrivals(sc, 100).map((a) => gen.first(a).request);
    expect(reqs.map((r) => countTokens(promptText(r)))).toEqual([120, 900, 700]);
    expect(reqs.map((r) => r.maxTokens)).toEqual([8, 40, 16]);
    expect(reqs[0]).toMatchObject({ model: 'sql-lora', lora: 'sql-lora', tenant: null });
    expect(reqs[1]).toMatchObject({ model: 'base', tenant: 'team-a', headers: { 'x-gateway-inference-fairness-id': 'team-a' } });
    // The first 600 tokens (the group's prefix) are the same words; what follows differs.
    const a = promptText(reqs[1]).split(' ');
    const b = promptText(reqs[2]).split(' ');
    expect(a.slice(0, 600)).toEqual(b.slice(0, 600));
    expect(a.slice(600, 700)).not.toEqual(b.slice(600, 700));
  });

  it("keeps a scenario's fleet, SLO and tenant headers", () => {
    const sc = parseScenario(`
name: with-trace
fleet: { pods: 3 }
workload:
  input: 5
  output: 5
  tenants: [{ name: team-a, headers: { x-gateway-inference-objective: premium } }]
arrivals: { stages: [{ rate: 100, duration: 100 }] }
slo: { ttftMs: 500 }
`);
    const t = withTrace(sc, parseTrace(GOOD));
    expect(t.fleet.pods).toBe(3);
    expect(t.slo).toEqual({ ttftMs: 500 });
    const gen = new WorkloadGenerator(t, 'base');
    const arrivals = scenarioArrivals(t, 100);
    expect(arrivals).toHaveLength(3);
    expect(gen.first(arrivals[1]).request.headers).toEqual({ 'x-gateway-inference-objective': 'premium' });
  });
});
