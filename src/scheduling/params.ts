/**
 * Typed reading of plugin `parameters`. Factories read every field through one reader, which
 * throws a message naming the plugin, the field and the reason, and lists fields nobody read
 * (the Go EPP ignores unknown parameters; we load such configs but report the names).
 */

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

  /** A raw value for parameters with their own structure. */
  value<T = unknown>(key: string): T | undefined {
    return this.take(key) as T | undefined;
  }

  /** All parameters as given (marks them read), for plugins that hand them to another component. */
  all(): Record<string, unknown> {
    for (const k of Object.keys(this.raw)) this.read.add(k);
    return this.raw;
  }

  /** Parameter names present in the config that no reader asked for. */
  unread(): string[] {
    return Object.keys(this.raw).filter((k) => !this.read.has(k));
  }

  /** Throws the standard message for `key`. */
  fail(key: string, reason: string): never {
    throw new Error(`plugin "${this.plugin}": parameter ${key} ${reason}`);
  }

  private take(key: string): unknown {
    this.read.add(key);
    return this.raw[key];
  }
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration string (`300ms`, `1.5s`, `1m30s`) or a number of seconds into ms; null if invalid. */
export function parseDurationMs(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v * 1000 : null;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNITS[m[2]];
    pos = re.lastIndex;
  }
  return pos === s.length && pos > 0 ? total : null;
}

function describe(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : JSON.stringify(v) ?? String(v);
}
