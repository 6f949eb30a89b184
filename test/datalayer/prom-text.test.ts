import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../src/datalayer/prom-text.js';
import { FIXTURE_NAMES, fixture } from '../support/fixtures.js';

describe('Prometheus text parser', () => {
  for (const name of FIXTURE_NAMES) {
    it(`parses every sample line of ${name}`, () => {
      const text = fixture(name);
      const page = parsePrometheusText(text);
      const sampleLines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
      expect(page.malformed).toBe(0);
      expect(page.samples.length).toBe(sampleLines.length);
    });
  }

  it('reads names with colons, escaped label values, commas inside values and timestamps', () => {
    const page = parsePrometheusText(
      [
        '# TYPE vllm:lora_requests_info gauge',
        'vllm:lora_requests_info{max_lora="2",running_lora_adapters="a,b",waiting_lora_adapters="q\\"x\\\\y\\nz"} 1.7e+09 1700000000000',
        'plain 3',
      ].join('\n'),
    );
    expect(page.samples[0]).toMatchObject({
      name: 'vllm:lora_requests_info',
      labels: { max_lora: '2', running_lora_adapters: 'a,b', waiting_lora_adapters: 'q"x\\y\nz' },
      value: 1.7e9,
      timestampMs: 1700000000000,
      type: 'gauge',
    });
    expect(page.samples[1]).toMatchObject({ name: 'plain', value: 3, type: 'untyped', timestampMs: null });
  });

  it('reads NaN, +Inf, -Inf, negative and exponent values, CRLF lines and blank lines', () => {
    const page = parsePrometheusText('a NaN\r\nb +Inf\r\n\r\nc -Inf\nd -1.5e-3\n  \ne 1e3\n');
    expect(page.samples.map((s) => s.value)).toEqual([NaN, Infinity, -Infinity, -0.0015, 1000]);
  });

  it('tells _created samples apart from counter values', () => {
    const page = parsePrometheusText(
      [
        '# TYPE vllm:prefix_cache_queries counter',
        'vllm:prefix_cache_queries_total{engine="0"} 100',
        'vllm:prefix_cache_queries_created{engine="0"} 1.7e9',
        '# TYPE h histogram',
        'h_bucket{le="+Inf"} 3',
        'h_sum 1.5',
        'h_count 3',
        'h_created 1.7e9',
      ].join('\n'),
    );
    expect(page.samples.map((s) => [s.name, s.type, s.role])).toEqual([
      ['vllm:prefix_cache_queries_total', 'counter', 'value'],
      ['vllm:prefix_cache_queries_created', 'counter', 'created'],
      ['h_bucket', 'histogram', 'bucket'],
      ['h_sum', 'histogram', 'sum'],
      ['h_count', 'histogram', 'count'],
      ['h_created', 'histogram', 'created'],
    ]);
  });

  it('parses only requested names and skips others without examining them', () => {
    const page = parsePrometheusText('a 1\nb{broken 2\nc 3\n', { names: new Set(['a', 'c']) });
    expect(page.samples.map((s) => s.name)).toEqual(['a', 'c']);
    expect(page.malformed).toBe(0);
  });

  it('counts broken lines with a description instead of throwing', () => {
    const cases = ['a{x="1" 2', 'a{x=1} 2', 'a{x="1"} two', 'a{x="1"}', 'a 1 notatime', '{x="1"} 1', 'a{="1"} 1', 'a{x="unterminated} 1'];
    for (const line of cases) {
      const page = parsePrometheusText(`${line}\nok 1\n`);
      expect(page.malformed, line).toBe(1);
      expect(page.firstError, line).toBeTypeOf('string');
      expect(page.samples.map((s) => s.name)).toEqual(['ok']);
    }
  });

  it('keeps the first copy of duplicate series and parses truncated pages up to the cut', () => {
    const text = fixture('vllm_v0_full_metrics_sample.prom');
    const cut = text.slice(0, Math.floor(text.length / 2));
    const page = parsePrometheusText(cut);
    expect(page.samples.length).toBeGreaterThan(10);
    const dup = parsePrometheusText('q{a="1"} 1\nq{a="1"} 2\n');
    expect(dup.samples.map((s) => s.value)).toEqual([1, 2]);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        const p = parsePrometheusText(s);
        return Array.isArray(p.samples) && p.malformed >= 0;
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        parsePrometheusText(Buffer.from(b).toString('utf8'));
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips generated pages', () => {
    const name = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/);
    const lname = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,10}$/);
    const lvalue = fc.string({ maxLength: 12 });
    fc.assert(
      fc.property(name, fc.dictionary(lname, lvalue, { maxKeys: 4 }), fc.double({ noNaN: true }), (n, labels, v) => {
        const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
        const ls = Object.entries(labels).map(([k, val]) => `${k}="${esc(val)}"`).join(',');
        const valueText = v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
        const page = parsePrometheusText(`${n}${ls ? `{${ls}}` : ''} ${valueText}\n`);
        return page.samples.length === 1 && page.samples[0].value === v && JSON.stringify(page.samples[0].labels) === JSON.stringify(labels);
      }),
      { numRuns: 400 },
    );
  });
});
