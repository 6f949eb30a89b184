/**
 * Request traces: one JSON object per line (JSONL), one line per request, lengths and timings
 * only (never prompt text). `switchboard load` and `switchboard bench` replay them; the
 * `access-log` lifecycle plugin writes them from live traffic. The schema is documented in
 * docs/trace-replay.md; every line is checked here and a bad one stops the read with
 * SB_ERR_CONFIG naming the file, the line and the field.
 */
import { readFileSync, statSync } from 'node:fs';
import { isSwitchboardError, sbError } from '../errors.js';

/** One request of a trace. */
export interface TraceRecord {
  /** Arrival time, ms from the start of the trace (rebased so the first arrival is at 0). */
  offsetMs: number;
  /** Prompt tokens (prefix included). */
  inputTokens: number;
  /** Output tokens to generate. */
  outputTokens: number;
  /** Requests of the same group share their first `prefixTokens` tokens (a system prompt), or null. */
  prefixGroup: string | null;
  /** Length of the shared prefix, 0 without a group; at most `inputTokens`. */
  prefixTokens: number;
  /** LoRA adapter to send the request to, or null (base model). */
  adapter: string | null;
  /** Tenant (sent as the fairness id header), or null. */
  tenant: string | null;
  /** Observed fields an access log adds; replay ignores them. */
  observed: TraceObservation | null;
}

/** What an access log saw of a request (every field optional in the file). */
export interface TraceObservation {
  model?: string;
  endpoint?: string;
  door?: string;
  status?: number;
  outcome?: string;
  ttftMs?: number;
  tpotMs?: number;
  e2eMs?: number;
  cachedTokens?: number;
}

/** A validated trace. */
export interface Trace {
  /** Where it came from (file name), for reports and errors. */
  source: string;
  /** Records sorted by arrival, offsets rebased to start at 0. */
  records: TraceRecord[];
}

/** A trace attached to a scenario, replayed `speed` times as fast as recorded. */
export interface ScenarioTrace {
  trace: Trace;
  speed: number;
}

/** Limits that keep a hostile or mistaken file from exhausting memory. */
export const TRACE_LIMITS = Object.freeze({
  /** Largest file read, bytes. */
  maxFileBytes: 512 * 1024 * 1024,
  /** Longest line, characters. */
  maxLineChars: 16 * 1024,
  /** Most records. */
  maxRecords: 2_000_000,
  /** Largest token counts. */
  maxInputTokens: 2_000_000,
  maxOutputTokens: 1_000_000,
  /** Latest arrival: 31 days. */
  maxOffsetMs: 31 * 86_400_000,
  /** Longest names (group, adapter, tenant, model, endpoint). */
  maxNameChars: 256,
});

/** JSON field names, in the order the access log writes them. */
export const TRACE_FIELDS = Object.freeze({
  required: ['offset_ms', 'input_tokens', 'output_tokens'] as const,
  optional: ['prefix_group', 'prefix_tokens', 'adapter', 'tenant'] as const,
  observed: ['model', 'endpoint', 'door', 'status', 'outcome', 'ttft_ms', 'tpot_ms', 'e2e_ms', 'cached_tokens'] as const,
});

const KNOWN = new Set<string>([...TRACE_FIELDS.required, ...TRACE_FIELDS.optional, ...TRACE_FIELDS.observed]);

function fail(where: string, msg: string): never {
  throw sbError('SB_ERR_CONFIG', where, msg);
}

function int(o: Record<string, unknown>, k: string, where: string, lo: number, hi: number): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) fail(`${where}: ${k}`, `must be an integer in [${lo}, ${hi}], got ${short(v)}`);
  return v;
}

function name(o: Record<string, unknown>, k: string, where: string): string | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v === '' || v.length > TRACE_LIMITS.maxNameChars) {
    fail(`${where}: ${k}`, `must be a non-empty string of at most ${TRACE_LIMITS.maxNameChars} characters, got ${short(v)}`);
  }
  return v;
}

/** A latency field of an access log: a number of ms, or -1 for "not measured". */
function latency(o: Record<string, unknown>, k: string, where: string): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (v < 0 && v !== -1)) fail(`${where}: ${k}`, `must be a number of ms >= 0 (or -1), got ${short(v)}`);
  return v;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** Validates one decoded line; `where` is `file:line`. */
export function parseTraceRecord(doc: unknown, where: string): TraceRecord {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail(where, 'must be a JSON object');
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k)) fail(`${where}: ${k}`, `unknown field (known: ${[...KNOWN].join(', ')})`);
  }
  for (const k of TRACE_FIELDS.required) if (o[k] === undefined) fail(`${where}: ${k}`, 'is required');
  const offset = o.offset_ms;
  if (typeof offset !== 'number' || !Number.isFinite(offset) || offset < 0 || offset > TRACE_LIMITS.maxOffsetMs) {
    fail(`${where}: offset_ms`, `must be a number of ms in [0, ${TRACE_LIMITS.maxOffsetMs}], got ${short(offset)}`);
  }
  const inputTokens = int(o, 'input_tokens', where, 1, TRACE_LIMITS.maxInputTokens);
  const outputTokens = int(o, 'output_tokens', where, 1, TRACE_LIMITS.maxOutputTokens);
  const prefixGroup = name(o, 'prefix_group', where);
  let prefixTokens = 0;
  if (o.prefix_tokens !== undefined) {
    if (prefixGroup === null) fail(`${where}: prefix_tokens`, 'needs prefix_group');
    prefixTokens = int(o, 'prefix_tokens', where, 0, inputTokens);
  } else if (prefixGroup !== null) fail(`${where}: prefix_tokens`, 'is required with prefix_group');
  const observed: TraceObservation = {};
  let any = false;
  for (const k of ['model', 'endpoint', 'door', 'outcome'] as const) {
    const v = name(o, k, where);
    if (v !== null) {
      observed[k] = v;
      any = true;
    }
  }
  if (o.status !== undefined) {
    observed.status = int(o, 'status', where, 0, 999);
    any = true;
  }
  if (o.cached_tokens !== undefined) {
    observed.cachedTokens = int(o, 'cached_tokens', where, -1, TRACE_LIMITS.maxInputTokens);
    any = true;
  }
  for (const [k, f] of [['ttft_ms', 'ttftMs'], ['tpot_ms', 'tpotMs'], ['e2e_ms', 'e2eMs']] as const) {
    const v = latency(o, k, where);
    if (v !== undefined) {
      observed[f] = v;
      any = true;
    }
  }
  return {
    offsetMs: offset,
    inputTokens,
    outputTokens,
    prefixGroup,
    prefixTokens,
    adapter: name(o, 'adapter', where),
    tenant: name(o, 'tenant', where),
    observed: any ? observed : null,
  };
}

/**
 * Parses JSONL trace text. Blank lines are skipped; anything else that is not a valid record
 * stops the parse with the line number. Records are sorted by arrival (an access log writes
 * them when they finish, not when they arrived) and rebased so the first arrives at 0.
 */
export function parseTrace(text: string, source = 'trace'): Trace {
  const records: TraceRecord[] = [];
  let lineNo = 0;
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    lineNo++;
    const where = `${source}:${lineNo}`;
    if (nl - pos > TRACE_LIMITS.maxLineChars) fail(where, `line longer than ${TRACE_LIMITS.maxLineChars} characters`);
    const line = text.slice(pos, nl).trim();
    pos = nl + 1;
    if (line === '') continue;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch (e) {
      fail(where, `not JSON: ${(e as Error).message}`);
    }
    if (records.length >= TRACE_LIMITS.maxRecords) fail(where, `more than ${TRACE_LIMITS.maxRecords} records`);
    records.push(parseTraceRecord(doc, where));
  }
  if (records.length === 0) fail(source, 'has no records');
  // Stable: requests that arrived together keep the file's order.
  records.sort((a, b) => a.offsetMs - b.offsetMs);
  const base = records[0].offsetMs;
  if (base > 0) for (const r of records) r.offsetMs -= base;
  return { source, records };
}

/** Reads and validates a trace file. */
export function loadTrace(file: string): Trace {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > TRACE_LIMITS.maxFileBytes) fail(file, `larger than ${TRACE_LIMITS.maxFileBytes} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (isSwitchboardError(e)) throw e;
    fail(file, (e as Error).message);
  }
  return parseTrace(text, file);
}

/** One record as a JSONL line (no newline); fields in schema order, absent ones left out. */
export function formatTraceRecord(r: TraceRecord): string {
  const o: Record<string, unknown> = {
    offset_ms: Math.round(r.offsetMs * 1000) / 1000,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
  };
  if (r.prefixGroup !== null) {
    o.prefix_group = r.prefixGroup;
    o.prefix_tokens = r.prefixTokens;
  }
  if (r.adapter !== null) o.adapter = r.adapter;
  if (r.tenant !== null) o.tenant = r.tenant;
  const x = r.observed;
  if (x !== null) {
    if (x.model !== undefined) o.model = x.model;
    if (x.endpoint !== undefined) o.endpoint = x.endpoint;
    if (x.door !== undefined) o.door = x.door;
    if (x.status !== undefined) o.status = x.status;
    if (x.outcome !== undefined) o.outcome = x.outcome;
    if (x.ttftMs !== undefined) o.ttft_ms = round3(x.ttftMs);
    if (x.tpotMs !== undefined) o.tpot_ms = round3(x.tpotMs);
    if (x.e2eMs !== undefined) o.e2e_ms = round3(x.e2eMs);
    if (x.cachedTokens !== undefined) o.cached_tokens = x.cachedTokens;
  }
  return JSON.stringify(o);
}

function round3(v: number): number {
  return v < 0 ? -1 : Math.round(v * 1000) / 1000;
}

/** Arrival span of a trace, ms (0 for one record). */
export function traceSpanMs(t: Trace): number {
  return t.records[t.records.length - 1].offsetMs;
}
