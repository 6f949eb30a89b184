/**
 * Flag parsing shared by the `sim`, `load` and `bench` subcommands (node:util parseArgs, so
 * both `--name value` and `--name=value` work). Bad flags become SB_ERR_FLAG.
 */
import { parseArgs } from 'node:util';
import { sbError } from '../errors.js';

/** Parsed flag values by name. */
export type FlagValues = Record<string, string | boolean | undefined>;

/** Parses `argv` against `options` (every option not listed as boolean takes a value). */
export function parseSubcommandFlags(cmd: string, argv: string[], strings: readonly string[], booleans: readonly string[] = []): FlagValues {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const s of strings) options[s] = { type: 'string' };
  for (const b of booleans) options[b] = { type: 'boolean' };
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw sbError('SB_ERR_FLAG', cmd, (e as Error).message);
  }
}

/** The string value of `name`, or undefined. */
export function stringFlag(v: FlagValues, name: string): string | undefined {
  const s = v[name];
  return typeof s === 'string' ? s : undefined;
}

/** The numeric value of `name` (at least `min`), or undefined; throws SB_ERR_FLAG otherwise. */
export function numberFlag(v: FlagValues, name: string, min = -Infinity): number | undefined {
  const s = stringFlag(v, name);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || n < min) throw sbError('SB_ERR_FLAG', name, `must be a number >= ${min}, got "${s}"`);
  return n;
}

/** A comma-separated list flag, or null when absent or empty. */
export function listFlag(v: FlagValues, name: string): string[] | null {
  const s = stringFlag(v, name);
  if (s === undefined) return null;
  const out = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  return out.length > 0 ? out : null;
}
