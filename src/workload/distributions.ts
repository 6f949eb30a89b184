/**
 * Length and time distributions of scenario files, compiled to samplers.
 *
 * Forms (any object form also takes `min` and `max` clamps):
 *   300                                   constant
 *   { constant: 300 }
 *   { uniform: [100, 500] }               inclusive range
 *   { normal: { mean: 1200, std: 360 } }
 *   { lognormal: { median: 400, p95: 2000 } }   or { lognormal: { mu, sigma } }
 *   { exponential: { mean: 4 } }
 *   { mixture: [ { weight: 0.9, dist: ... }, { weight: 0.1, dist: ... } ] }
 */
import { sbError } from '../errors.js';
import type { Rng } from '../util/random.js';

/** A distribution as written in a scenario file. */
export type DistSpec =
  | number
  | ({ min?: number; max?: number } & (
      | { constant: number }
      | { uniform: [number, number] }
      | { normal: { mean: number; std: number } }
      | { lognormal: { median?: number; p95?: number; mu?: number; sigma?: number } }
      | { exponential: { mean: number } }
      | { mixture: Array<{ weight: number; dist: DistSpec }> }
    ));

/** Draws one value. */
export type Sampler = (rng: Rng) => number;

const Z95 = 1.6448536269514722;

function fail(path: string, msg: string): never {
  throw sbError('SB_ERR_CONFIG', path, msg);
}

function num(v: unknown, path: string, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) fail(path, `must be a number >= ${min}`);
  return v;
}

/** Compiles `spec` found at `path` (for error messages) into a sampler of real values. */
export function compileDist(spec: unknown, path: string): Sampler {
  if (typeof spec === 'number') {
    const c = num(spec, path, 0);
    return () => c;
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) fail(path, 'must be a number or a distribution object');
  const o = spec as Record<string, unknown>;
  const lo = o.min === undefined ? -Infinity : num(o.min, `${path}.min`);
  const hi = o.max === undefined ? Infinity : num(o.max, `${path}.max`);
  if (lo > hi) fail(path, 'min must not exceed max');
  const kinds = Object.keys(o).filter((k) => k !== 'min' && k !== 'max');
  if (kinds.length !== 1) fail(path, 'needs exactly one of constant, uniform, normal, lognormal, exponential, mixture');
  const kind = kinds[0];
  const v = o[kind];
  let base: Sampler;
  switch (kind) {
    case 'constant': {
      const c = num(v, `${path}.constant`, 0);
      base = () => c;
      break;
    }
    case 'uniform': {
      if (!Array.isArray(v) || v.length !== 2) fail(`${path}.uniform`, 'must be [low, high]');
      const a = num(v[0], `${path}.uniform[0]`);
      const b = num(v[1], `${path}.uniform[1]`);
      if (a > b) fail(`${path}.uniform`, 'low must not exceed high');
      base = (rng) => a + rng.next() * (b - a);
      break;
    }
    case 'normal': {
      const p = obj(v, `${path}.normal`);
      const mean = num(p.mean, `${path}.normal.mean`);
      const std = num(p.std, `${path}.normal.std`, 0);
      base = (rng) => mean + std * rng.normal();
      break;
    }
    case 'lognormal': {
      const p = obj(v, `${path}.lognormal`);
      let mu: number;
      let sigma: number;
      if (p.median !== undefined) {
        mu = Math.log(num(p.median, `${path}.lognormal.median`, Number.MIN_VALUE));
        const p95 = num(p.p95, `${path}.lognormal.p95`, Number.MIN_VALUE);
        sigma = (Math.log(p95) - mu) / Z95;
        if (sigma < 0) fail(`${path}.lognormal`, 'p95 must be at least the median');
      } else {
        mu = num(p.mu, `${path}.lognormal.mu`);
        sigma = num(p.sigma, `${path}.lognormal.sigma`, 0);
      }
      base = (rng) => Math.exp(mu + sigma * rng.normal());
      break;
    }
    case 'exponential': {
      const mean = num(obj(v, `${path}.exponential`).mean, `${path}.exponential.mean`, 0);
      base = (rng) => rng.exponential(mean);
      break;
    }
    case 'mixture': {
      if (!Array.isArray(v) || v.length === 0) fail(`${path}.mixture`, 'must be a non-empty list');
      const weights: number[] = [];
      const parts: Sampler[] = [];
      v.forEach((item: unknown, i: number) => {
        const it = obj(item, `${path}.mixture[${i}]`);
        weights.push(num(it.weight, `${path}.mixture[${i}].weight`, 0));
        parts.push(compileDist(it.dist, `${path}.mixture[${i}].dist`));
      });
      const pick = weightedPicker(weights, `${path}.mixture`);
      base = (rng) => parts[pick(rng)](rng);
      break;
    }
    default:
      fail(path, `unknown distribution "${kind}"`);
  }
  if (lo === -Infinity && hi === Infinity) return base;
  return (rng) => Math.min(hi, Math.max(lo, base(rng)));
}

/** Compiles a token-count distribution: values are rounded and at least `floor` (default 1). */
export function compileCount(spec: unknown, path: string, floor = 1): Sampler {
  const s = compileDist(spec, path);
  return (rng) => Math.max(floor, Math.round(s(rng)));
}

/** Returns a function that picks an index with probability proportional to `weights`. */
export function weightedPicker(weights: readonly number[], path: string): (rng: Rng) => number {
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) fail(path, 'weights must sum to more than 0');
  const cdf = new Float64Array(weights.length);
  let acc = 0;
  weights.forEach((w, i) => {
    acc += w / total;
    cdf[i] = acc;
  });
  cdf[cdf.length - 1] = 1;
  return (rng) => {
    const u = rng.next();
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (u < cdf[mid]) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** Zipf weights 1/(i+1)^s for `n` items. */
export function zipfWeights(n: number, s: number): number[] {
  return Array.from({ length: n }, (_, i) => 1 / Math.pow(i + 1, s));
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
  return v as Record<string, unknown>;
}
