/**
 * Path-aware shape checks for the config file. Every failure is an SB_ERR_CONFIG that names the
 * file, the field (`flowControl.priorityBands[1].maxBytes`) and the reason; a file with several
 * problems reports them all at once.
 */
import { sbError, type SwitchboardError } from '../errors.js';
import { parseDurationMs } from '../util/duration.js';
import { didYouMean } from '../util/nearest.js';
import { parseQuantity } from '../util/quantity.js';

/** One thing wrong in a config file: where (field path) and why. */
export interface ConfigProblem {
  path: string;
  reason: string;
}

/**
 * Collects every problem of a file instead of stopping at the first: `fail` records the problem
 * and throws out of the field being read; `attempt` catches that throw at an item or section
 * boundary so reading goes on with the next one; `finish` throws one error listing them all.
 */
export class Validator {
  readonly problems: ConfigProblem[] = [];
  private readonly thrown = new WeakSet<object>();

  constructor(readonly source: string) {}

  fail(path: string, reason: string): never {
    const at = path || '(root)';
    this.problems.push({ path: at, reason });
    const err: SwitchboardError = sbError('SB_ERR_CONFIG', `${this.source}: ${at}`, reason);
    this.thrown.add(err);
    throw err;
  }

  /** Runs `read`; when it fails on a field, the problem stays recorded and `fallback` is returned. */
  attempt<T>(read: () => T, fallback: T): T {
    try {
      return read();
    } catch (err) {
      if (typeof err === 'object' && err !== null && this.thrown.has(err)) return fallback;
      throw err;
    }
  }

  /** Reads each item of an optional list; items that fail are left out and reading goes on. */
  items<T>(v: unknown, path: string, read: (raw: unknown, at: string, i: number) => T): T[] {
    const out: T[] = [];
    const list = this.attempt(() => this.list(v, path), []);
    list.forEach((raw, i) => {
      const at = `${path}[${i}]`;
      this.attempt(() => {
        out.push(read(raw, at, i));
      }, undefined);
    });
    return out;
  }

  /** Throws one SB_ERR_CONFIG naming the file and every problem found, if any. */
  finish(): void {
    if (this.problems.length === 0) return;
    if (this.problems.length === 1) throw sbError('SB_ERR_CONFIG', `${this.source}: ${this.problems[0].path}`, this.problems[0].reason);
    const lines = this.problems.map((p) => `  - ${p.path}: ${p.reason}`).join('\n');
    throw sbError('SB_ERR_CONFIG', this.source, `${this.problems.length} problems:\n${lines}`);
  }

  object(v: unknown, path: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, `must be a mapping, got ${kindOf(v)}`);
    return v as Record<string, unknown>;
  }

  list(v: unknown, path: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(path, `must be a list, got ${kindOf(v)}`);
    return v;
  }

  string(v: unknown, path: string): string {
    if (typeof v !== 'string' || v === '') this.fail(path, v === undefined ? 'is required' : `must be a non-empty string, got ${kindOf(v)}`);
    return v;
  }

  optString(v: unknown, path: string): string | null {
    return v === undefined || v === null ? null : this.string(v, path);
  }

  stringList(v: unknown, path: string): string[] {
    return this.list(v, path).map((x, i) => this.string(x, `${path}[${i}]`));
  }

  port(v: unknown, path: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) this.fail(path, `must be a port 1..65535, got ${kindOf(v)}`);
    return v;
  }

  /** An optional number (`def` when absent) within `min`/`max`, whole when `integer`. */
  number(v: unknown, path: string, def: number, o: { min?: number; max?: number; integer?: boolean } = {}): number {
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, `must be a number, got ${kindOf(v)}`);
    if (o.integer === true && !Number.isInteger(v)) this.fail(path, `must be an integer, got ${v}`);
    if (o.min !== undefined && v < o.min) this.fail(path, `must be >= ${o.min}, got ${v}`);
    if (o.max !== undefined && v > o.max) this.fail(path, `must be <= ${o.max}, got ${v}`);
    return v;
  }

  /** An optional boolean. */
  boolean(v: unknown, path: string, def: boolean): boolean {
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') this.fail(path, `must be true or false, got ${kindOf(v)}`);
    return v;
  }

  /** An optional string that must be one of `allowed`. */
  oneOf<T extends string>(v: unknown, path: string, def: T, allowed: readonly T[]): T {
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string' || !allowed.includes(v as T)) this.fail(path, `must be one of ${allowed.join(', ')}, got ${kindOf(v)}`);
    return v as T;
  }

  /** An optional duration (Go string such as `30s` or a number of seconds), in ms. */
  durationMs(v: unknown, path: string, defMs: number): number {
    if (v === undefined || v === null) return defMs;
    const ms = parseDurationMs(v);
    if (ms === null) this.fail(path, `must be a duration like "200ms" or "30s", got ${kindOf(v)}`);
    return ms;
  }

  /** An optional byte count: an integer or a Kubernetes quantity (`1Gi`, `500M`, `512Mi`). */
  bytes(v: unknown, path: string, def: number): number {
    if (v === undefined || v === null) return def;
    const n = parseQuantity(v);
    if (n === null) this.fail(path, `must be a byte count such as 1000000, "500M" or "1Gi", got ${kindOf(v)}`);
    return n;
  }

  /** Records every field of `o` not in `allowed` (with the nearest allowed name), without stopping. */
  only(o: Record<string, unknown>, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (allowed.includes(k)) continue;
      this.attempt(() => this.fail(path ? `${path}.${k}` : k, `unknown field${didYouMean(k, allowed)}`), undefined);
    }
  }
}

export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${String(v)}`;
}
