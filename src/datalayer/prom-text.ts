/**
 * Prometheus text exposition format (0.0.4) parser, written for scraping model servers every
 * 50 ms: it fully parses only the sample lines whose metric name the caller asked for and skips
 * the rest after reading the name.
 *
 * Correctness points: `# TYPE` / `# HELP` lines, metric names with colons, label values with
 * `\\`, `\"` and `\n` escapes and embedded commas, `NaN` / `+Inf` / `-Inf`, optional
 * millisecond timestamps, CRLF line ends, and `<counter>_created` samples, which carry a
 * creation time and are reported with `role: 'created'`, never as counter values.
 */

/** Metric family types from `# TYPE` lines. */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** What a sample means within its family. */
export type SampleRole = 'value' | 'created' | 'bucket' | 'sum' | 'count';

/** One parsed sample line. */
export interface Sample {
  name: string;
  /** Label pairs; shared empty object when the sample has none. */
  labels: Readonly<Record<string, string>>;
  value: number;
  /** Timestamp in ms since the epoch, or null when the line has none. */
  timestampMs: number | null;
  /** Family type from `# TYPE` (untyped if none was declared). */
  type: MetricType;
  role: SampleRole;
}

/** Result of parsing one page. */
export interface ParsedPage {
  samples: Sample[];
  /** Family name -> declared type. */
  types: Map<string, MetricType>;
  /** Sample lines that could not be parsed (only lines that were examined count). */
  malformed: number;
  /** First malformed line's description, for error messages. */
  firstError: string | null;
}

/** Limits the parser to sample lines with these names; all lines are parsed when absent. */
export interface ParseOptions {
  names?: ReadonlySet<string>;
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
const SUFFIXES: ReadonlyArray<readonly [string, SampleRole]> = [
  ['_created', 'created'],
  ['_bucket', 'bucket'],
  ['_total', 'value'],
  ['_count', 'count'],
  ['_sum', 'sum'],
];

/** Precomputed lookups for a name filter: lengths to reject lines without slicing, and families. */
interface Filter {
  lengths: Uint8Array;
  families: Set<string>;
}

const filters = new WeakMap<ReadonlySet<string>, Filter>();

function filterFor(names: ReadonlySet<string>): Filter {
  let f = filters.get(names);
  if (f === undefined) {
    const lengths = new Uint8Array(1024);
    const families = new Set<string>();
    for (const n of names) {
      if (n.length < lengths.length) lengths[n.length] = 1;
      families.add(n);
      for (const [suffix] of SUFFIXES) if (n.endsWith(suffix)) families.add(n.slice(0, -suffix.length));
    }
    f = { lengths, families };
    filters.set(names, f);
  }
  return f;
}

/** Parses `text`, keeping the samples named in `opts.names` (all when omitted). */
export function parsePrometheusText(text: string, opts: ParseOptions = {}): ParsedPage {
  const names = opts.names;
  const filter = names === undefined ? null : filterFor(names);
  const samples: Sample[] = [];
  const types = new Map<string, MetricType>();
  let malformed = 0;
  let firstError: string | null = null;
  const len = text.length;
  let pos = 0;
  while (pos < len) {
    let eol = text.indexOf('\n', pos);
    if (eol === -1) eol = len;
    let end = eol;
    if (end > pos && text.charCodeAt(end - 1) === 13) end--; // CRLF
    const first = text.charCodeAt(pos);
    if (first === 35 /* # */) {
      parseComment(text, pos, end, types, filter);
    } else if (end > pos && !isBlank(text, pos, end)) {
      const nameEnd = scanName(text, pos, end);
      if (nameEnd === pos) {
        if (filter === null) {
          malformed++;
          firstError ??= `line does not start with a metric name: ${preview(text, pos, end)}`;
        }
      } else if (filter === null || (nameEnd - pos < 1024 && filter.lengths[nameEnd - pos] === 1)) {
        // Lines of other lengths cannot be wanted: rejected without slicing the name.
        const name = text.slice(pos, nameEnd);
        if (names === undefined || names.has(name)) {
          const r = parseSample(text, name, nameEnd, end, types);
          if (typeof r === 'string') {
            malformed++;
            firstError ??= `${r}: ${preview(text, pos, end)}`;
          } else {
            samples.push(r);
          }
        }
      }
    }
    pos = eol + 1;
  }
  return { samples, types, malformed, firstError };
}

function parseComment(text: string, pos: number, end: number, types: Map<string, MetricType>, filter: Filter | null): void {
  // "# TYPE <name> <type>"; HELP and free comments are ignored.
  let i = pos + 1;
  while (i < end && text.charCodeAt(i) === 32) i++;
  if (!text.startsWith('TYPE', i)) return;
  i += 4;
  if (i >= end || text.charCodeAt(i) !== 32) return;
  while (i < end && text.charCodeAt(i) === 32) i++;
  const nameEnd = scanName(text, i, end);
  if (nameEnd === i) return;
  const name = text.slice(i, nameEnd);
  if (filter !== null && !filter.families.has(name)) return;
  const t = text.slice(nameEnd, end).trim();
  if (t === 'counter' || t === 'gauge' || t === 'histogram' || t === 'summary' || t === 'untyped') types.set(name, t);
}

function parseSample(
  text: string,
  name: string,
  nameEnd: number,
  end: number,
  types: Map<string, MetricType>,
): Sample | string {
  let i = nameEnd;
  let labels = NO_LABELS;
  if (i < end && text.charCodeAt(i) === 123 /* { */) {
    const out: Record<string, string> = {};
    i++;
    for (;;) {
      i = skipSpaces(text, i, end);
      if (i >= end) return 'unterminated label set';
      if (text.charCodeAt(i) === 125 /* } */) {
        i++;
        break;
      }
      const lEnd = scanLabelName(text, i, end);
      if (lEnd === i) return 'bad label name';
      const lname = text.slice(i, lEnd);
      i = skipSpaces(text, lEnd, end);
      if (text.charCodeAt(i) !== 61 /* = */) return 'expected = after label name';
      i = skipSpaces(text, i + 1, end);
      if (text.charCodeAt(i) !== 34 /* " */) return 'label value must be quoted';
      const v = readQuoted(text, i + 1, end);
      if (v === null) return 'unterminated label value';
      out[lname] = v.value;
      i = skipSpaces(text, v.next, end);
      const c = text.charCodeAt(i);
      if (c === 44 /* , */) i++;
      else if (c !== 125) return 'expected , or } in label set';
    }
    labels = out;
  }
  if (i >= end || !isSpace(text.charCodeAt(i))) return 'expected space before value';
  i = skipSpaces(text, i, end);
  let vEnd = i;
  while (vEnd < end && !isSpace(text.charCodeAt(vEnd))) vEnd++;
  const value = parseValue(text.slice(i, vEnd));
  if (value === undefined) return 'bad sample value';
  let timestampMs: number | null = null;
  i = skipSpaces(text, vEnd, end);
  if (i < end) {
    const ts = Number(text.slice(i, end).trim());
    if (!Number.isFinite(ts)) return 'bad timestamp';
    timestampMs = ts;
  }
  const { type, role } = classify(name, types);
  return { name, labels, value, timestampMs, type, role };
}

/** Works out the family a sample belongs to from the declared types, to tell `_created` apart. */
function classify(name: string, types: Map<string, MetricType>): { type: MetricType; role: SampleRole } {
  const direct = types.get(name);
  if (direct !== undefined && direct !== 'counter') return { type: direct, role: 'value' };
  for (const [suffix, role] of SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    const family = types.get(name.slice(0, -suffix.length));
    if (family === undefined) continue;
    if (role === 'created' && family !== 'gauge' && family !== 'untyped') return { type: family, role };
    if (role === 'value' && family === 'counter') return { type: family, role };
    if ((role === 'bucket' && family === 'histogram') || ((role === 'sum' || role === 'count') && (family === 'histogram' || family === 'summary')))
      return { type: family, role };
  }
  return { type: direct ?? 'untyped', role: 'value' };
}

/** Parses a sample value; undefined when it is not a number. */
export function parseValue(s: string): number | undefined {
  switch (s) {
    case 'NaN':
      return NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
  }
  if (s.length === 0) return undefined;
  const n = Number(s);
  return Number.isNaN(n) ? undefined : n;
}

function readQuoted(text: string, start: number, end: number): { value: string; next: number } | null {
  let i = start;
  let out = '';
  let chunkStart = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 34) return { value: out + text.slice(chunkStart, i), next: i + 1 };
    if (c === 92 /* \ */) {
      out += text.slice(chunkStart, i);
      const n = text.charCodeAt(i + 1);
      out += n === 110 ? '\n' : n === 92 ? '\\' : n === 34 ? '"' : '\\' + text.charAt(i + 1);
      i += 2;
      chunkStart = i;
      continue;
    }
    i++;
  }
  return null;
}

function scanName(text: string, i: number, end: number): number {
  // [a-zA-Z_:][a-zA-Z0-9_:]*
  const s = i;
  while (i < end) {
    const c = text.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58 || (i > s && c >= 48 && c <= 57);
    if (!ok) break;
    i++;
  }
  return i;
}

function scanLabelName(text: string, i: number, end: number): number {
  const s = i;
  while (i < end) {
    const c = text.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (i > s && c >= 48 && c <= 57);
    if (!ok) break;
    i++;
  }
  return i;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

function skipSpaces(text: string, i: number, end: number): number {
  while (i < end && isSpace(text.charCodeAt(i))) i++;
  return i;
}

function isBlank(text: string, pos: number, end: number): boolean {
  return skipSpaces(text, pos, end) === end;
}

function preview(text: string, pos: number, end: number): string {
  const s = text.slice(pos, Math.min(end, pos + 80));
  return JSON.stringify(s);
}
