/**
 * Command-line flags with Go's `flag` package syntax, so a Go EPP command line works unchanged:
 * `-name` or `--name`, `--name=value` or `--name value` (non-boolean flags), booleans as
 * `--name` or `--name=false`, durations as `50ms` / `2s`, `--` ends the flags.
 */
import { sbError } from '../errors.js';
import { parseDurationMs } from '../util/duration.js';

/** Value kinds. Durations parse to milliseconds. */
export type FlagType = 'string' | 'int' | 'float' | 'bool' | 'duration';

/** One flag: its name, kind, default and one-line help. */
export interface FlagSpec {
  name: string;
  type: FlagType;
  default: string | number | boolean | null;
  help: string;
  /** Accepted for compatibility; the text says what it does here. */
  compat?: string;
  /** For a string flag that may stand alone (`--print-config`): the value it takes then. */
  bare?: string;
}

/** Parsed flags: values by name (defaults filled in), the names given explicitly, and positionals. */
export interface ParsedFlags {
  values: Record<string, string | number | boolean | null>;
  given: Set<string>;
  positional: string[];
  help: boolean;
}

/** Parses `argv` against `specs`; unknown flags and bad values throw SB_ERR_FLAG. */
export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values: ParsedFlags['values'] = {};
  for (const s of specs) values[s.name] = s.default;
  const given = new Set<string>();
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
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
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (spec.type === 'bool') raw = 'true';
    else if (spec.bare !== undefined) raw = spec.bare;
    else {
      if (i + 1 >= argv.length) throw sbError('SB_ERR_FLAG', name, 'needs a value');
      raw = argv[++i];
    }
    values[name] = convert(spec, raw);
    given.add(name);
  }
  return { values, given, positional, help };
}

function convert(spec: FlagSpec, raw: string): string | number | boolean {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'bool': {
      const v = raw.toLowerCase();
      if (v === 'true' || v === '1' || v === 't') return true;
      if (v === 'false' || v === '0' || v === 'f') return false;
      throw sbError('SB_ERR_FLAG', spec.name, `must be true or false, got "${raw}"`);
    }
    case 'int': {
      const n = Number(raw);
      if (!Number.isInteger(n)) throw sbError('SB_ERR_FLAG', spec.name, `must be an integer, got "${raw}"`);
      return n;
    }
    case 'float': {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw sbError('SB_ERR_FLAG', spec.name, `must be a number, got "${raw}"`);
      return n;
    }
    case 'duration': {
      const ms = parseDurationMs(raw);
      if (ms === null) throw sbError('SB_ERR_FLAG', spec.name, `must be a duration like 50ms or 2s, got "${raw}"`);
      return ms;
    }
  }
}

function suggest(name: string, specs: readonly FlagSpec[]): string {
  const close = specs.filter((s) => s.name.includes(name) || name.includes(s.name)).map((s) => `--${s.name}`);
  return close.length > 0 ? ` (did you mean ${close.slice(0, 3).join(', ')}?)` : '';
}

/** Formats the flag table for `--help`. */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const def = s.default === null || s.default === '' ? '' : ` (default ${s.type === 'duration' ? `${s.default}ms` : String(s.default)})`;
    const kind = s.type === 'bool' ? '' : ` <${s.type}>`;
    return `  --${s.name}${kind}\n        ${s.help}${def}${s.compat !== undefined ? ` [compat: ${s.compat}]` : ''}`;
  });
  return rows.join('\n') + '\n';
}
