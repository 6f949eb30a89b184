/**
 * Metric specs: PromQL instant selectors such as `vllm:num_requests_waiting` or
 * `nv_trt_llm_request_metrics{request_type=waiting}` (quotes optional, equality only), as the
 * Go EPP's engine configs write them.
 */
import type { Sample } from './prom-text.js';

/** A parsed selector: metric name plus label equality matchers. */
export interface MetricSpec {
  name: string;
  labels: ReadonlyArray<readonly [string, string]>;
  /** The text it was parsed from, for messages. */
  source: string;
}

const SPEC_RE = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$/s;
const MATCHER_RE = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^",}\s]*))\s*$/s;

/** Parses a selector; returns null for the empty string (the metric is disabled). Throws on bad syntax. */
export function parseMetricSpec(text: string): MetricSpec | null {
  if (text.trim() === '') return null;
  const m = SPEC_RE.exec(text);
  if (m === null) throw new Error(`bad metric spec ${JSON.stringify(text)}: expected name{label=value,...}`);
  const labels: Array<readonly [string, string]> = [];
  const body = m[2];
  if (body !== undefined && body.trim() !== '') {
    for (const part of splitMatchers(body)) {
      const lm = MATCHER_RE.exec(part);
      if (lm === null) throw new Error(`bad label matcher ${JSON.stringify(part)} in metric spec ${JSON.stringify(text)}`);
      const value = lm[2] !== undefined ? lm[2].replace(/\\(.)/g, '$1') : (lm[3] ?? '');
      labels.push([lm[1], value]);
    }
  }
  return { name: m[1], labels, source: text };
}

/** Splits `a="x,y",b=z` on commas outside quotes. */
function splitMatchers(body: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\' && quoted) {
      cur += c + (body[i + 1] ?? '');
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      cur += c;
    } else if (c === ',' && !quoted) {
      if (cur.trim() !== '') parts.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur.trim() !== '') parts.push(cur);
  return parts;
}

/** True when `sample` has the spec's name and every matcher's label value. */
export function matches(spec: MetricSpec, sample: Sample): boolean {
  if (sample.name !== spec.name || sample.role === 'created') return false;
  for (const [k, v] of spec.labels) if (sample.labels[k] !== v) return false;
  return true;
}

/**
 * The sample a spec selects: among matches, the one with the latest timestamp (the first when
 * none has one), as the Go EPP does for ordinary specs.
 */
export function selectLatest(spec: MetricSpec, samples: readonly Sample[]): Sample | null {
  let best: Sample | null = null;
  for (const s of samples) {
    if (!matches(spec, s)) continue;
    if (best === null || (s.timestampMs !== null && (best.timestampMs === null || s.timestampMs > best.timestampMs))) best = s;
  }
  return best;
}

/** The matching sample with the largest value: LoRA info series carry a timestamp as value. */
export function selectMaxValue(spec: MetricSpec, samples: readonly Sample[]): Sample | null {
  let best: Sample | null = null;
  for (const s of samples) {
    if (!matches(spec, s) || Number.isNaN(s.value)) continue;
    if (best === null || s.value > best.value) best = s;
  }
  return best;
}
