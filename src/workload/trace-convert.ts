/**
 * Public LLM request traces converted to Switchboard's trace format (src/workload/trace.ts):
 *
 * - `azure`: Azure LLM inference traces 2023/2024 (Azure/AzurePublicDataset, CC-BY), CSV with
 *   columns `TIMESTAMP` (date-time, 7 fractional digits), `ContextTokens`, `GeneratedTokens`.
 * - `burstgpt`: BurstGPT (HPMLL/BurstGPT), CSV with `Timestamp` (s), `Request tokens`,
 *   `Response tokens` (plus `Model`, `Total tokens`, `Log Type`, unused).
 * - `mooncake`: Mooncake/Kimi FAST'25 traces, JSONL with `timestamp` (ms), `input_length`,
 *   `output_length`, `hash_ids` (512-token blocks; equal ids = shared prefix).
 *
 * Columns are found by header name, in any order. Requests without output (0 generated tokens,
 * failed requests in BurstGPT) are skipped and counted: a replay cannot ask for 0 tokens.
 */
import { sbError } from '../errors.js';
import { TRACE_LIMITS, type TraceRecord } from './trace.js';

export const TRACE_FORMATS = ['azure', 'burstgpt', 'mooncake'] as const;
export type TraceFormat = (typeof TRACE_FORMATS)[number];

/** What a conversion produced. */
export interface Converted {
  records: TraceRecord[];
  /** Rows skipped because they asked for no output (or no input). */
  skipped: number;
}

/** Mooncake's hash block size, tokens. */
const MOONCAKE_BLOCK = 512;

function fail(where: string, msg: string): never {
  throw sbError('SB_ERR_CONFIG', where, msg);
}

/** Converts `text` in `format`; errors name `source:line`. */
export function convertTrace(text: string, format: TraceFormat, source: string = format): Converted {
  switch (format) {
    case 'azure':
      return fromCsv(text, source, { time: 'timestamp', input: 'contexttokens', output: 'generatedtokens' }, parseAzureTime);
    case 'burstgpt':
      return fromCsv(text, source, { time: 'timestamp', input: 'request tokens', output: 'response tokens' }, (v, where) => seconds(v, where) * 1000);
    case 'mooncake':
      return fromMooncake(text, source);
  }
}

/** `2023-11-16 18:15:46.6805900` (UTC, as the Azure traces write it) in ms since the epoch. */
export function parseAzureTime(v: string, where: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|\+00:00)?$/.exec(v.trim());
  if (m === null) fail(where, `TIMESTAMP: not a date-time like 2023-11-16 18:15:46.6805900, got "${v.slice(0, 40)}"`);
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (!Number.isFinite(ms)) fail(where, `TIMESTAMP: not a valid date, got "${v.slice(0, 40)}"`);
  // Fractions beyond milliseconds (the traces have 100 ns ticks) are kept as fractional ms.
  return ms + (m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000);
}

function seconds(v: string, where: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) fail(where, `Timestamp: not a number of seconds, got "${v.slice(0, 40)}"`);
  return n;
}

function count(v: unknown, where: string, column: string): number {
  const n = typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v)) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) fail(where, `${column}: not a token count, got ${JSON.stringify(v)?.slice(0, 40)}`);
  return n;
}

function* lines(text: string): Generator<{ line: string; no: number }> {
  let pos = 0;
  let no = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    no++;
    const line = text.slice(pos, nl).replace(/\r$/, '');
    pos = nl + 1;
    yield { line, no };
  }
}

/** Splits one CSV line; quoted fields may hold commas and doubled quotes (no embedded newlines). */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else v += line[i++];
      }
      out.push(v);
      i = line.indexOf(',', i) < 0 ? line.length + 1 : line.indexOf(',', i) + 1;
    } else {
      const c = line.indexOf(',', i);
      out.push(line.slice(i, c < 0 ? line.length : c));
      i = c < 0 ? line.length + 1 : c + 1;
    }
  }
  return out;
}

function fromCsv(
  text: string,
  source: string,
  cols: { time: string; input: string; output: string },
  time: (v: string, where: string) => number,
): Converted {
  let idx: { time: number; input: number; output: number } | null = null;
  const rows: Array<{ t: number; input: number; output: number }> = [];
  let skipped = 0;
  for (const { line, no } of lines(text)) {
    const where = `${source}:${no}`;
    if (line.length > TRACE_LIMITS.maxLineChars) fail(where, `line longer than ${TRACE_LIMITS.maxLineChars} characters`);
    if (line.trim() === '') continue;
    const cells = splitCsv(line);
    if (idx === null) {
      const names = cells.map((c) => c.trim().toLowerCase());
      const find = (c: string): number => {
        const i = names.indexOf(c);
        if (i < 0) fail(where, `header has no "${c}" column (columns: ${cells.join(', ').slice(0, 200)})`);
        return i;
      };
      idx = { time: find(cols.time), input: find(cols.input), output: find(cols.output) };
      continue;
    }
    const need = Math.max(idx.time, idx.input, idx.output);
    if (cells.length <= need) fail(where, `expected at least ${need + 1} columns, got ${cells.length}`);
    const input = count(cells[idx.input], where, cols.input);
    const output = count(cells[idx.output], where, cols.output);
    const t = time(cells[idx.time], where);
    if (input === 0 || output === 0) {
      skipped++;
      continue;
    }
    if (rows.length >= TRACE_LIMITS.maxRecords) fail(where, `more than ${TRACE_LIMITS.maxRecords} records`);
    rows.push({ t, input: Math.min(input, TRACE_LIMITS.maxInputTokens), output: Math.min(output, TRACE_LIMITS.maxOutputTokens) });
  }
  if (idx === null) fail(source, 'is empty (no header line)');
  return { records: rebase(rows.map((r) => plain(r.t, r.input, r.output))), skipped };
}

function plain(t: number, input: number, output: number): TraceRecord {
  return { offsetMs: t, inputTokens: input, outputTokens: output, prefixGroup: null, prefixTokens: 0, adapter: null, tenant: null, observed: null };
}

/** Sorted by arrival, first at 0; fails on a span longer than the format allows. */
function rebase(records: TraceRecord[]): TraceRecord[] {
  records.sort((a, b) => a.offsetMs - b.offsetMs);
  const base = records.length === 0 ? 0 : records[0].offsetMs;
  for (const r of records) {
    r.offsetMs = Math.round((r.offsetMs - base) * 1000) / 1000;
    if (r.offsetMs > TRACE_LIMITS.maxOffsetMs) fail('trace', `spans more than ${TRACE_LIMITS.maxOffsetMs} ms; cut it first`);
  }
  return records;
}

/**
 * Mooncake: a request's prefix group is its first block id; its prefix is its leading blocks
 * that some other request also has (so unshared prompts get no group). Requests of a group then
 * share the shorter of their prefixes, an approximation where two requests' blocks diverge later.
 */
function fromMooncake(text: string, source: string): Converted {
  const rows: Array<{ t: number; input: number; output: number; ids: number[] }> = [];
  const seen = new Map<number, number>();
  let skipped = 0;
  for (const { line, no } of lines(text)) {
    const where = `${source}:${no}`;
    if (line.length > TRACE_LIMITS.maxLineChars * 16) fail(where, `line longer than ${TRACE_LIMITS.maxLineChars * 16} characters`);
    if (line.trim() === '') continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      fail(where, `not JSON: ${(e as Error).message}`);
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) fail(where, 'must be a JSON object');
    const t = o.timestamp;
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) fail(where, `timestamp: not a number of ms, got ${JSON.stringify(t)?.slice(0, 40)}`);
    const input = count(o.input_length, where, 'input_length');
    const output = count(o.output_length, where, 'output_length');
    const ids = o.hash_ids ?? [];
    if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x))) fail(where, 'hash_ids: must be a list of integers');
    if (input === 0 || output === 0) {
      skipped++;
      continue;
    }
    if (rows.length >= TRACE_LIMITS.maxRecords) fail(where, `more than ${TRACE_LIMITS.maxRecords} records`);
    for (const id of ids as number[]) seen.set(id, (seen.get(id) ?? 0) + 1);
    rows.push({ t, input: Math.min(input, TRACE_LIMITS.maxInputTokens), output: Math.min(output, TRACE_LIMITS.maxOutputTokens), ids: ids as number[] });
  }
  const records = rows.map((r) => {
    const rec = plain(r.t, r.input, r.output);
    let shared = 0;
    while (shared < r.ids.length && (seen.get(r.ids[shared]) ?? 0) > 1) shared++;
    if (shared > 0) {
      rec.prefixGroup = `mc-${r.ids[0]}`;
      rec.prefixTokens = Math.min(r.input, shared * MOONCAKE_BLOCK);
    }
    return rec;
  });
  return { records: rebase(records), skipped };
}
