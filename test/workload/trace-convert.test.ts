/**
 * Converting public traces: a few lines in the Azure LLM inference trace layout, BurstGPT's and
 * Mooncake's (written here, shaped like the published files' headers), through
 * `switchboard convert-trace` to a JSONL trace that the trace reader accepts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runConvertTrace } from '../../src/cli/convert-trace.js';
import { convertTrace, parseAzureTime } from '../../src/workload/trace-convert.js';
import { loadTrace } from '../../src/workload/trace.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-convert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const AZURE = [
  'TIMESTAMP,ContextTokens,GeneratedTokens',
  '2023-11-16 18:15:46.6805900,374,44',
  '2023-11-16 18:15:50.9951690,396,109',
  '2023-11-16 18:15:47.0000000,2099,0',
  '2023-11-16 18:15:51.1000000,879,26',
].join('\r\n');

describe('convert-trace', () => {
  it('azure: offsets from the first arrival (sub-ms kept), lengths as given, 0-output rows skipped', () => {
    const { records, skipped } = convertTrace(AZURE, 'azure');
    expect(skipped).toBe(1);
    expect(records.map((r) => [r.offsetMs, r.inputTokens, r.outputTokens])).toEqual([
      [0, 374, 44],
      [4314.579, 396, 109],
      [4419.41, 879, 26],
    ]);
    expect(parseAzureTime('2024-05-10 00:00:00', 'x')).toBe(Date.UTC(2024, 4, 10));
  });

  it('burstgpt: columns by name in any order, seconds to ms', () => {
    const text = 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n7.5,GPT-4,1024,0,1024,Conversation log\n9.25,"GPT-4, large",100,50,150,API log\n';
    const { records, skipped } = convertTrace(text, 'burstgpt');
    expect(skipped).toBe(1);
    expect(records.map((r) => [r.offsetMs, r.inputTokens, r.outputTokens])).toEqual([
      [0, 472, 18],
      [4250, 100, 50],
    ]);
  });

  it('mooncake: shared leading blocks become a prefix group', () => {
    const text = [
      '{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, 48, 49, 50]}',
      '{"timestamp": 30535, "input_length": 6472, "output_length": 26, "hash_ids": [46, 47, 60, 61]}',
      '{"timestamp": 31000, "input_length": 100, "output_length": 5, "hash_ids": [99]}',
    ].join('\n');
    const { records } = convertTrace(text, 'mooncake');
    expect(records.map((r) => [r.offsetMs, r.prefixGroup, r.prefixTokens])).toEqual([
      [0, 'mc-46', 1024],
      [3053, 'mc-46', 1024],
      [3518, null, 0],
    ]);
  });

  it.each([
    ['azure', 'TIMESTAMP,ContextTokens\n2023-11-16 18:15:46,1', 't.csv:1: header has no "generatedtokens" column'],
    ['azure', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,2\nyesterday,1,2', 't.csv:3: TIMESTAMP: not a date-time'],
    ['azure', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,-4,2', 't.csv:2: contexttokens: not a token count'],
    ['azure', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46', 't.csv:2: expected at least 3 columns'],
    ['mooncake', '{"timestamp": 1, "input_length": 5}', 't.csv:1: output_length: not a token count'],
    ['mooncake', '{"timestamp": 1, "input_length": 5, "output_length": 1, "hash_ids": "x"}', 't.csv:1: hash_ids: must be a list of integers'],
  ] as const)('%s: rejects bad input with the line: %j', (format, text, message) => {
    expect(() => convertTrace(text, format, 't.csv')).toThrow(`invalid config: ${message}`);
  });

  it('the CLI writes a trace that load and bench read', async () => {
    const input = join(dir, 'AzureLLMInferenceTrace_conv.csv');
    const out = join(dir, 'azure.jsonl');
    writeFileSync(input, AZURE);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runConvertTrace(['--from', 'azure', '--in', input, '--out', out, '--limit', '2'])).toBe(0);
      expect(String(err.mock.calls[0][0])).toBe('converted 2 requests, skipped 1 without input or output\n');
    } finally {
      err.mockRestore();
    }
    expect(readFileSync(out, 'utf8')).toBe('{"offset_ms":0,"input_tokens":374,"output_tokens":44}\n{"offset_ms":4314.579,"input_tokens":396,"output_tokens":109}\n');
    expect(loadTrace(out).records).toHaveLength(2);
  });
});
