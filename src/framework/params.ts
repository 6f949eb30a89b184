/**
 * Typed reading of plugin `parameters`, for every extension point. Factories read every field
 * through one reader, which throws a message naming the plugin, the field and the reason, and
 * lists fields nobody read (the Go EPP ignores unknown parameters; we load such configs but
 * report the names with a coded warning).
 */
import { parseDurationMs } from '../util/duration.js';
import { parseQuantity } from '../util/quantity.js';

/** A bad parameter: which plugin, which field (a path inside the parameters) and why. */
export class ParamError extends Error {
  constructor(
    readonly plugin: string,
    readonly key: string,
    readonly reason: string,
  ) {
    super(`plugin "${plugin}": parameter ${key} ${reason}`);
    this.name = 'ParamError';
  }
}

/** Reads and validates one plugin's raw parameters. */
export class Params {
  private readonly read = new Set<string>();

  constructor(
    private readonly plugin: string,
    private readonly raw: Record<string, unknown>,
  ) {}

  /** A number parameter; `min`/`max` bound it, `integer` requires a whole number. */
  number(key: string, def: number, o: { min?: number; max?: number; integer?: boolean } = {}): number {
    const v = this.take(key);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `must be a number, got ${describe(v)}`);
    if (o.integer === true && !Number.isInteger(v)) this.fail(key, `must be an integer, got ${v}`);
    if (o.min !== undefined && v < o.min) this.fail(key, `must be >= ${o.min}, got ${v}`);
    if (o.max !== undefined && v > o.max) this.fail(key, `must be <= ${o.max}, got ${v}`);
    return v;
  }

  /** A boolean parameter. */
  boolean(key: string, def: boolean): boolean {
    const v = this.take(key);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${describe(v)}`);
    return v;
  }

  /** A string parameter, optionally one of `allowed`. */
  string<T extends string = string>(key: string, def: T, allowed?: readonly T[]): T {
    const v = this.take(key);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string') this.fail(key, `must be a string, got ${describe(v)}`);
    if (allowed !== undefined && !allowed.includes(v as T)) this.fail(key, `must be one of ${allowed.join(', ')}, got "${v}"`);
    return v as T;
  }

  /** A duration: a number of seconds, or a Go duration string such as `200ms` or `1m30s`. Returns ms. */
  durationMs(key: string, defMs: number): number {
    const v = this.take(key);
    if (v === undefined || v === null) return defMs;
    const ms = parseDurationMs(v);
    if (ms === null) this.fail(key, `must be a duration like "200ms" or "2s", got ${describe(v)}`);
    return ms;
  }

  /** A byte count: an integer or a Kubernetes quantity (`1Gi`, `500M`). */
  bytes(key: string, def: number): number {
    const v = this.take(key);
    if (v === undefined || v === null) return def;
    const n = parseQuantity(v);
    if (n === null) this.fail(key, `must be a byte count such as 1000000, "500M" or "1Gi", got ${describe(v)}`);
    return n;
  }

  /** A list of strings (empty when absent). */
  strings(key: string): string[] {
    const v = this.take(key);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) this.fail(key, `must be a list of strings, got ${describe(v)}`);
    return v as string[];
  }

  /** A mapping of strings (empty when absent). */
  stringMap(key: string): Record<string, string> {
    const v = this.take(key);
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, `must be a mapping, got ${describe(v)}`);
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (typeof x !== 'string') this.fail(`${key}.${k}`, `must be a string, got ${describe(x)}`);
    return v as Record<string, string>;
  }

  /** A raw value for parameters with their own structure. */
  value<T = unknown>(key: string): T | undefined {
    return this.take(key) as T | undefined;
  }

  /** All parameters as given (marks them read), for plugins that hand them to another component. */
  all(): Record<string, unknown> {
    for (const k of Object.keys(this.raw)) this.read.add(k);
    return this.raw;
  }

  /** Parameter names the factory asked for (for "did you mean"). */
  readKeys(): string[] {
    return [...this.read];
  }

  /** Parameter names present in the config that no reader asked for. */
  unread(): string[] {
    return Object.keys(this.raw).filter((k) => !this.read.has(k));
  }

  /** Throws the standard message for `key` (a ParamError, so callers can name the field's path). */
  fail(key: string, reason: string): never {
    throw new ParamError(this.plugin, key, reason);
  }

  private take(key: string): unknown {
    this.read.add(key);
    return this.raw[key];
  }
}

function describe(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : JSON.stringify(v) ?? String(v);
}
