/**
 * The planner's SLO: `ttft-p90=2s,ntpot-p90=60ms[,success=99%]`. Each latency target is a
 * metric (ttft, tpot, ntpot, itl, e2e, with the definitions of src/workload/metrics.ts), a
 * percentile (p50 … p99.9) and a Go duration; `success` is the least share of requests that must
 * succeed (default 99%). Measured over a run's non-warm-up requests.
 */
import { sbError } from '../../errors.js';
import { quantileSorted, requestLatencies, type RequestRecord } from '../../workload/metrics.js';
import { parseDurationMs } from '../../util/duration.js';

export const SLO_METRICS = ['ttft', 'tpot', 'ntpot', 'itl', 'e2e'] as const;
export type SloMetric = (typeof SLO_METRICS)[number];

/** One latency target: the `quantile` of `metric` must stay at or under `limitMs`. */
export interface LatencyTarget {
  metric: SloMetric;
  /** 0..1, e.g. 0.9 for p90. */
  quantile: number;
  limitMs: number;
  /** As written, e.g. `ttft-p90`. */
  label: string;
}

/** A parsed SLO. */
export interface SloSpec {
  targets: LatencyTarget[];
  /** Least fraction of requests that must succeed, 0..1. */
  minSuccess: number;
  /** Normalised text, e.g. `ttft-p90=2000ms,ntpot-p90=60ms,success=99%`. */
  text: string;
}

function fail(msg: string): never {
  throw sbError('SB_ERR_CONFIG', '--slo', msg);
}

/** Parses the `--slo` text; errors name the offending term. */
export function parseSloSpec(text: string): SloSpec {
  if (text.trim() === '') fail('is empty; expected e.g. ttft-p90=2s,ntpot-p90=60ms');
  const targets: LatencyTarget[] = [];
  let minSuccess = 0.99;
  const seen = new Set<string>();
  for (const raw of text.split(',')) {
    const term = raw.trim();
    if (term === '') fail(`empty term in "${text}"`);
    const eq = term.indexOf('=');
    if (eq < 0) fail(`"${term}": expected NAME=VALUE, e.g. ttft-p90=2s`);
    const key = term.slice(0, eq).trim().toLowerCase();
    const value = term.slice(eq + 1).trim();
    if (seen.has(key)) fail(`"${key}" given twice`);
    seen.add(key);
    if (key === 'success') {
      const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value);
      const v = m === null ? NaN : Number(m[1]) / (m[2] === '%' ? 100 : 1);
      if (!(v > 0 && v <= 1)) fail(`"${term}": success must be a share in (0, 1] or a percentage, e.g. success=99%`);
      minSuccess = v;
      continue;
    }
    const km = /^([a-z0-9]+)-p(\d+(?:\.\d+)?)$/.exec(key);
    if (km === null) fail(`"${key}": expected METRIC-pNN (metrics: ${SLO_METRICS.join(', ')}), e.g. ttft-p90`);
    if (!(SLO_METRICS as readonly string[]).includes(km[1])) fail(`"${key}": unknown metric "${km[1]}" (known: ${SLO_METRICS.join(', ')})`);
    const pct = Number(km[2]);
    if (!(pct > 0 && pct < 100)) fail(`"${key}": percentile must be between p0 and p100 exclusive`);
    const ms = parseDurationMs(value);
    if (ms === null || typeof ms !== 'number' || /^\d+(\.\d+)?$/.test(value)) fail(`"${term}": "${value}" is not a duration with a unit (e.g. 2s, 60ms)`);
    if (ms <= 0) fail(`"${term}": the limit must be above 0`);
    targets.push({ metric: km[1] as SloMetric, quantile: pct / 100, limitMs: ms, label: key });
  }
  if (targets.length === 0) fail('needs at least one latency target, e.g. ttft-p90=2s');
  const norm = [...targets.map((t) => `${t.label}=${+t.limitMs.toFixed(3)}ms`), `success=${+(minSuccess * 100).toFixed(3)}%`].join(',');
  return { targets, minSuccess, text: norm };
}

/** What one run measured against an SLO. */
export interface SloVerdict {
  pass: boolean;
  /** Per target: the measured quantile, ms (NaN when nothing was measured). */
  values: number[];
  successRate: number;
  requests: number;
}

/** Judges `records` (already restricted to the measured ones) against `slo`. */
export function judgeSlo(records: readonly RequestRecord[], slo: SloSpec): SloVerdict {
  const series: Record<SloMetric, number[]> = { ttft: [], tpot: [], ntpot: [], itl: [], e2e: [] };
  let ok = 0;
  for (const r of records) {
    if (!r.ok) continue;
    ok++;
    const l = requestLatencies(r);
    series.e2e.push(l.e2e);
    if (r.outputTokens > 0) series.ntpot.push(l.ntpot);
    if (l.ttft !== null) series.ttft.push(l.ttft);
    if (l.tpot !== null) series.tpot.push(l.tpot);
    for (let i = 0; i < r.itl.length; i++) series.itl.push(r.itl[i]);
  }
  const sorted = new Map<SloMetric, Float64Array>();
  const values = slo.targets.map((t) => {
    let s = sorted.get(t.metric);
    if (s === undefined) {
      s = Float64Array.from(series[t.metric]).sort();
      sorted.set(t.metric, s);
    }
    return quantileSorted(s, t.quantile);
  });
  const successRate = records.length === 0 ? 0 : ok / records.length;
  // Nothing measured is not a pass: a fleet that serves nothing meets no SLO.
  const pass = records.length > 0 && successRate >= slo.minSuccess && values.every((v, i) => Number.isFinite(v) && v <= slo.targets[i].limitMs);
  return { pass, values, successRate, requests: records.length };
}
