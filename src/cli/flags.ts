/**
 * The one command-line parser of every subcommand: a declarative table per subcommand, parsed
 * with Go's `flag` syntax so a Go EPP command line works unchanged: `-name` or `--name`,
 * `--name=value` or `--name value` (non-boolean flags), booleans as `--name` or `--name=false`,
 * durations as `50ms` / `2s`, `--` ends the flags. `--help` is generated from the same table.
 * A scalar flag given twice takes the last value, as in Go; a list flag given twice keeps the
 * items of both.
 */
import { sbError } from '../errors.js';
import { parseDurationMs } from '../util/duration.js';
import { checkHostPort } from './host-port.js';
import { editDistance } from '../util/nearest.js';
import { sbWarning, type ConfigWarning } from '../warnings.js';

/** Value kinds. Durations parse to milliseconds; lists are comma-separated. */
export type FlagType = 'string' | 'int' | 'float' | 'bool' | 'duration' | 'enum' | 'host-port' | 'list';

/** A parsed value (lists parse to string arrays). */
export type FlagValue = string | number | boolean | null | string[];

/** One flag: its name, kind, default, bounds and one-line help. */
export interface FlagSpec {
  name: string;
  type: FlagType;
  default: FlagValue;
  help: string;
  /** Bounds of int, float and duration (ms) values, inclusive. */
  min?: number;
  max?: number;
  /** Accepted values of an enum. */
  values?: readonly string[];
  /** Each item of a list must be host:port. */
  items?: 'host-port';
  /** Accepted for compatibility; the text says what it does here (shown in --help only). */
  compat?: string;
  /** For a string flag that may stand alone (`--print-config`): the value it takes then. */
  bare?: string;
  /**
   * Accepted and ignored; the reason is logged once at start when the flag is given with a value
   * other than its default (the default is what happens here anyway, so asking for it is quiet).
   */
  ignored?: string;
  /** Still works; the text (what to use instead) is logged once at start when the flag is given. */
  deprecated?: string;
  /** Another name for flag `aliasOf`: the value is stored under that name. */
  aliasOf?: string;
}

/** Parsed flags: values by name (defaults filled in), the names given explicitly, and positionals. */
export interface ParsedFlags {
  values: Record<string, FlagValue>;
  given: Set<string>;
  positional: string[];
  help: boolean;
  /** A bare boolean directly followed by this positional (Go does not let booleans take a separate value). */
  strayAfterBool: { flag: string; arg: string } | null;
}

/** Parses `argv` against `specs`; unknown flags and bad values throw SB_ERR_FLAG naming the flag. */
export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values: ParsedFlags['values'] = {};
  for (const s of specs) if (s.aliasOf === undefined) values[s.name] = s.default;
  const given = new Set<string>();
  const positional: string[] = [];
  let help = false;
  let strayAfterBool: ParsedFlags['strayAfterBool'] = null;
  let lastBareBool: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (lastBareBool !== null && strayAfterBool === null) strayAfterBool = { flag: lastBareBool, arg };
      positional.push(arg);
      lastBareBool = null;
      continue;
    }
    lastBareBool = null;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === 'h' || name === 'help') {
      help = true;
      continue;
    }
    const spec = byName.get(name);
    if (spec === undefined) throw sbError('SB_ERR_FLAG', name, `unknown flag${suggest(name, specs)}`);
    let raw: string;
    if (eq >= 0) raw = unquote(body.slice(eq + 1));
    else if (spec.type === 'bool') {
      raw = 'true';
      lastBareBool = name;
    } else if (spec.bare !== undefined) raw = spec.bare;
    else {
      if (i + 1 >= argv.length) throw sbError('SB_ERR_FLAG', name, `needs a value (${describe(spec)})`);
      raw = unquote(argv[++i]);
    }
    const target = spec.aliasOf !== undefined ? (byName.get(spec.aliasOf) ?? spec) : spec;
    const value = convert(spec, raw);
    // A list given twice (`--config a=x.yaml --config b=y.yaml`) keeps both: replacing the first,
    // as a scalar flag is replaced, would drop it without a word.
    const before = values[target.name];
    values[target.name] = Array.isArray(value) && given.has(target.name) && Array.isArray(before) ? [...before, ...value] : value;
    given.add(spec.name);
    given.add(target.name);
  }
  return { values, given, positional, help, strayAfterBool };
}

/** Throws SB_ERR_FLAG if any positional argument was given (no subcommand takes one). */
export function rejectPositionals(flags: ParsedFlags): void {
  const stray = flags.strayAfterBool;
  if (stray !== null) {
    throw sbError('SB_ERR_FLAG', stray.flag, `a boolean takes its value as --${stray.flag}=${stray.arg}, got the separate argument "${stray.arg}"`);
  }
  if (flags.positional.length > 0) {
    throw sbError('SB_ERR_FLAG', flags.positional[0], 'unexpected argument (flags start with - or --; no positional arguments are taken)');
  }
}

/**
 * Helm charts write `- --flag="value"` (the EPP inferencepool chart does for its metric flags),
 * which hands the quotes to the program; take them off so those lines mean what they say.
 */
function unquote(raw: string): string {
  return raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
}

function describe(spec: FlagSpec): string {
  switch (spec.type) {
    case 'int':
      return `an integer${bounds(spec, String)}`;
    case 'float':
      return `a number${bounds(spec, String)}`;
    case 'duration':
      return `a duration like 50ms or 2s${bounds(spec, (ms) => `${ms}ms`)}`;
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${(spec.values ?? []).join(', ')}`;
    case 'host-port':
      return 'host:port';
    case 'list':
      return spec.items === 'host-port' ? 'a comma-separated list of host:port' : 'a comma-separated list';
    case 'string':
      return 'a string';
  }
}

function bounds(spec: FlagSpec, fmt: (n: number) => string): string {
  if (spec.min !== undefined && spec.max !== undefined) return ` from ${fmt(spec.min)} to ${fmt(spec.max)}`;
  if (spec.min !== undefined) return ` >= ${fmt(spec.min)}`;
  if (spec.max !== undefined) return ` <= ${fmt(spec.max)}`;
  return '';
}

function inBounds(spec: FlagSpec, n: number): boolean {
  return (spec.min === undefined || n >= spec.min) && (spec.max === undefined || n <= spec.max);
}

function convert(spec: FlagSpec, raw: string): FlagValue {
  const bad = () => sbError('SB_ERR_FLAG', spec.name, `must be ${describe(spec)}, got "${raw}"`);
  switch (spec.type) {
    case 'string':
      return raw;
    case 'bool': {
      // Go's strconv.ParseBool spellings.
      const v = raw.toLowerCase();
      if (v === 'true' || v === '1' || v === 't') return true;
      if (v === 'false' || v === '0' || v === 'f') return false;
      throw bad();
    }
    case 'int': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isInteger(n) || !inBounds(spec, n)) throw bad();
      return n;
    }
    case 'float': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || !inBounds(spec, n)) throw bad();
      return n;
    }
    case 'duration': {
      const ms = parseDurationMs(raw);
      if (ms === null || !inBounds(spec, ms)) throw bad();
      return ms;
    }
    case 'enum':
      if (!(spec.values ?? []).includes(raw)) throw bad();
      return raw;
    case 'host-port': {
      const problem = checkHostPort(raw);
      if (problem !== null) throw sbError('SB_ERR_FLAG', spec.name, problem);
      return raw.trim();
    }
    case 'list': {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (spec.items === 'host-port') {
        for (const item of items) {
          const problem = checkHostPort(item);
          if (problem !== null) throw sbError('SB_ERR_FLAG', spec.name, problem);
        }
      }
      return items;
    }
  }
}

/** The nearest valid flag names: smallest edit distance (within a third of the name), else containing ones. */
export function nearestFlags(name: string, specs: readonly FlagSpec[]): string[] {
  const scored = specs.map((s) => ({ name: s.name, d: editDistance(name, s.name) }));
  const best = Math.min(...scored.map((s) => s.d));
  if (best <= Math.max(2, Math.floor(name.length / 3))) return scored.filter((s) => s.d === best).map((s) => s.name).slice(0, 3);
  return specs.filter((s) => s.name.includes(name) || (s.name.length > 2 && name.includes(s.name))).map((s) => s.name).slice(0, 3);
}

function suggest(name: string, specs: readonly FlagSpec[]): string {
  const close = nearestFlags(name, specs).map((n) => `--${n}`);
  return close.length > 0 ? ` (did you mean ${close.join(', ')}?)` : '';
}

/** Coded warnings about flags given on the command line that are ignored or deprecated here. */
export interface FlagNotice extends ConfigWarning {
  flag: string;
}

/** The notices for `flags`: one per ignored or deprecated flag that was given, in table order. */
export function flagNotices(specs: readonly FlagSpec[], flags: ParsedFlags): FlagNotice[] {
  const out: FlagNotice[] = [];
  for (const s of specs) {
    if (!flags.given.has(s.name)) continue;
    if (s.ignored !== undefined && !sameValue(flags.values[s.name], s.default)) out.push({ ...sbWarning('SB_WARN_FLAG_IGNORED', s.name, s.ignored), flag: s.name });
    if (s.deprecated !== undefined) out.push({ ...sbWarning('SB_WARN_FLAG_DEPRECATED', s.name, s.deprecated), flag: s.name });
  }
  return out;
}

function sameValue(a: FlagValue | undefined, b: FlagValue): boolean {
  return Array.isArray(a) && Array.isArray(b) ? a.join(',') === b.join(',') : a === b;
}

function formatDefault(s: FlagSpec): string {
  const d = s.default;
  if (d === null || d === '' || (Array.isArray(d) && d.length === 0)) return '';
  if (s.type === 'duration' && typeof d === 'number') return ` (default ${d}ms)`;
  return ` (default ${Array.isArray(d) ? d.join(',') : String(d)})`;
}

/** Formats the flag table for `--help`. */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const kind = s.type === 'bool' ? '' : s.type === 'enum' ? ` <${(s.values ?? []).join('|')}>` : s.type === 'list' ? ' <list> (repeatable)' : ` <${s.type}>`;
    const notes = [
      s.aliasOf !== undefined ? ` [same as --${s.aliasOf}]` : '',
      s.compat !== undefined ? ` [compat: ${s.compat}]` : '',
      s.ignored !== undefined ? ` [ignored: ${s.ignored}]` : '',
      s.deprecated !== undefined ? ` [deprecated: ${s.deprecated}]` : '',
    ].join('');
    const range = s.type === 'int' || s.type === 'float' ? bounds(s, String) : '';
    return `  --${s.name}${kind}\n        ${s.help}${range === '' ? '' : ` (${range.trim()})`}${formatDefault(s)}${notes}`;
  });
  return rows.join('\n') + '\n';
}

/** The `--help` text of a subcommand: a usage line, an optional description, and its flag table. */
export function formatHelp(usage: string, description: string, specs: readonly FlagSpec[]): string {
  return `usage: ${usage}\n\n${description === '' ? '' : `${description}\n\n`}flags:\n${formatFlags(specs)}`;
}

/** Typed accessors for parsed values (the table guarantees the kind). */
export function str(flags: ParsedFlags, name: string): string {
  return String(flags.values[name] ?? '');
}
export function num(flags: ParsedFlags, name: string): number {
  return Number(flags.values[name]);
}
export function list(flags: ParsedFlags, name: string): string[] | null {
  const v = flags.values[name];
  return Array.isArray(v) && v.length > 0 ? v : null;
}
/** The value when given explicitly, else undefined. */
export function givenNum(flags: ParsedFlags, name: string): number | undefined {
  return flags.given.has(name) ? num(flags, name) : undefined;
}
export function givenStr(flags: ParsedFlags, name: string): string | undefined {
  return flags.given.has(name) ? str(flags, name) : undefined;
}
