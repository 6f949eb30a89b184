/**
 * Request-level metrics, computed exactly as inference-perf (`reportgen/base.py`) and the GKE
 * documentation define them:
 *
 * - E2E latency = end − start.
 * - TTFT = first token time − start (streamed requests with more than one token time).
 * - TPOT = (last token time − first token time) / (output tokens − 1) ≡ (E2E − TTFT)/(n − 1).
 * - NTPOT = E2E / output tokens (every successful request with output).
 * - ITL = every consecutive token gap, pooled across requests (token-weighted); tokens that
 *   arrive in one chunk share the chunk's time.
 * - Throughput = sums over successful requests ÷ (max end − min start over all requests).
 * - Goodput: a successful request is good when it meets every configured SLO; percent is of
 *   successful requests, rates are per second of the same window.
 * - Prefix-cache hit rate = Σ cached prompt tokens ÷ Σ prompt tokens (token-weighted).
 *
 * Percentiles interpolate linearly between order statistics (numpy's default).
 */

/** One finished (or failed) request as a load generator or the scorecard saw it. Times in ms. */
export interface RequestRecord {
  id: string;
  /** Index of the arrival stage the request was sent in. */
  stage: number;
  /** Index of the pod that served it, or -1 when unknown. */
  pod: number;
  /** LoRA adapter, or null for the base model. */
  lora: string | null;
  /** Tenant name (scenario `workload.tenants`), or null. */
  tenant: string | null;
  /** Session index and turn (0-based) for multi-turn workloads; -1 otherwise. */
  session: number;
  turn: number;
  start: number;
  /** Time of the first token, NaN if none arrived. */
  firstToken: number;
  /** Time of the last token, NaN if none arrived. */
  lastToken: number;
  end: number;
  ok: boolean;
  /** Short error label for failures (e.g. `http_503`, `dropped`), else null. */
  error: string | null;
  /** What the server or the socket said about a failure (error body message, errno), when known. */
  detail?: string;
  promptTokens: number;
  outputTokens: number;
  /** Prompt tokens served from the prefix cache; -1 when the server did not say. */
  cachedTokens: number;
  /** Gaps between consecutive output tokens, ms. */
  itl: ArrayLike<number>;
}

/** Service-level objectives for goodput, ms. Unset fields do not constrain. */
export interface Slo {
  ttftMs?: number;
  tpotMs?: number;
  itlMs?: number;
  ntpotMs?: number;
  e2eMs?: number;
}

/** Summary statistics of one metric, ms for latencies. */
export interface Dist {
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}

/** Everything reported for one stage (or one whole run). */
export interface StageSummary {
  requests: number;
  succeeded: number;
  failed: number;
  /** Successful / all, 0..1. */
  successRate: number;
  /** max(end) − min(start) over all requests, s. */
  durationS: number;
  ttft: Dist | null;
  tpot: Dist | null;
  ntpot: Dist | null;
  itl: Dist | null;
  e2e: Dist | null;
  inputTokensPerS: number;
  outputTokensPerS: number;
  totalTokensPerS: number;
  requestsPerS: number;
  goodput: { percent: number; requestsPerS: number; tokensPerS: number; good: number } | null;
  /** Σ cached / Σ prompt over successful requests that reported cached tokens, 0..1; null if none did. */
  prefixHitRate: number | null;
  /** Requests and prompt tokens assigned per pod, and the coefficient of variation of the latter. */
  imbalance: { podRequests: number[]; podPromptTokens: number[]; cvPromptTokens: number } | null;
  /** Failures by label. */
  errors: Record<string, number>;
}

/** The `q`-quantile (0..1) of sorted `xs`, with linear interpolation. */
export function quantileSorted(xs: ArrayLike<number>, q: number): number {
  const n = xs.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo);
}

/** Above this many values, quantiles come from selection instead of a full sort. */
const SELECT_THRESHOLD = 50_000;

/** Summary statistics of `values` (any order), or null when empty. */
export function distribution(values: ArrayLike<number>): Dist | null {
  const n = values.length;
  if (n === 0) return null;
  const a = Float64Array.from(values as ArrayLike<number>);
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = a[i];
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  let p50: number;
  let p90: number;
  let p99: number;
  if (n <= SELECT_THRESHOLD) {
    a.sort();
    p50 = quantileSorted(a, 0.5);
    p90 = quantileSorted(a, 0.9);
    p99 = quantileSorted(a, 0.99);
  } else {
    // Pooled ITLs reach millions of values; selection is O(n) where sorting is O(n log n).
    p50 = quantileSelect(a, 0.5, 0);
    p90 = quantileSelect(a, 0.9, Math.floor((n - 1) * 0.5) + 1);
    p99 = quantileSelect(a, 0.99, Math.floor((n - 1) * 0.9) + 1);
  }
  return { count: n, mean: sum / n, min, max, p50, p90, p99 };
}

/**
 * The `q`-quantile of `a` (interpolated like `quantileSorted`), reordering `a` in place.
 * Elements before `from` must already be no greater than any later one (a previous call's work).
 */
function quantileSelect(a: Float64Array, q: number, from: number): number {
  const n = a.length;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const vlo = select(a, lo, Math.min(from, lo), n - 1);
  if (pos === lo) return vlo;
  let vhi = Infinity;
  for (let i = lo + 1; i < n; i++) if (a[i] < vhi) vhi = a[i];
  return vlo + (vhi - vlo) * (pos - lo);
}

/** Quickselect: puts the k-th smallest of a[left..right] at a[k]; smaller before, larger after. */
function select(a: Float64Array, k: number, left: number, right: number): number {
  while (right > left) {
    const mid = (left + right) >> 1;
    // Median of three as pivot.
    const x = a[left];
    const y = a[mid];
    const z = a[right];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k];
  }
  return a[k];
}

/** Per-request latencies of a successful request, ms (null where undefined). */
export interface RequestLatencies {
  e2e: number;
  ttft: number | null;
  tpot: number | null;
  ntpot: number;
}

/** TTFT, TPOT, NTPOT and E2E of one successful request. */
export function requestLatencies(r: RequestRecord): RequestLatencies {
  const e2e = r.end - r.start;
  const ntpot = r.outputTokens > 0 ? e2e / r.outputTokens : 0;
  const hasTokens = !Number.isNaN(r.firstToken);
  const ttft = hasTokens ? r.firstToken - r.start : null;
  const tpot = hasTokens && r.outputTokens > 1 ? (r.lastToken - r.firstToken) / (r.outputTokens - 1) : null;
  return { e2e, ttft, tpot, ntpot };
}

/** Summarises `records`; `pods` sizes the imbalance arrays (0 skips them). */
export function summarize(records: readonly RequestRecord[], slo: Slo = {}, pods = 0): StageSummary {
  const ok = records.filter((r) => r.ok);
  let minStart = Infinity;
  let maxEnd = -Infinity;
  for (const r of records) {
    if (r.start < minStart) minStart = r.start;
    if (r.end > maxEnd) maxEnd = r.end;
  }
  const durationS = records.length > 0 ? Math.max(0, maxEnd - minStart) / 1000 : 0;
  const ttft: number[] = [];
  const tpot: number[] = [];
  const ntpot: number[] = [];
  const e2e: number[] = [];
  let itlCount = 0;
  for (const r of ok) itlCount += r.itl.length;
  const itl = new Float64Array(itlCount);
  let k = 0;
  let inTok = 0;
  let outTok = 0;
  let cached = 0;
  let cachedPrompt = 0;
  let good = 0;
  let goodTok = 0;
  const constrained = Object.values(slo).some((v) => v !== undefined);
  for (const r of ok) {
    const l = requestLatencies(r);
    e2e.push(l.e2e);
    ntpot.push(l.ntpot);
    if (l.ttft !== null) ttft.push(l.ttft);
    if (l.tpot !== null) tpot.push(l.tpot);
    let itlSum = 0;
    for (let i = 0; i < r.itl.length; i++) {
      itl[k++] = r.itl[i];
      itlSum += r.itl[i];
    }
    const itlMean = r.itl.length > 0 ? itlSum / r.itl.length : null;
    inTok += r.promptTokens;
    outTok += r.outputTokens;
    if (r.cachedTokens >= 0 && r.promptTokens > 0) {
      cached += Math.min(r.cachedTokens, r.promptTokens);
      cachedPrompt += r.promptTokens;
    }
    if (constrained && meets(slo.ttftMs, l.ttft) && meets(slo.tpotMs, l.tpot) && meets(slo.itlMs, itlMean) && meets(slo.ntpotMs, l.ntpot) && meets(slo.e2eMs, l.e2e)) {
      good++;
      goodTok += r.promptTokens + r.outputTokens;
    }
  }
  const per = (x: number): number => (durationS > 0 ? x / durationS : 0);
  const errors: Record<string, number> = {};
  for (const r of records) if (!r.ok) errors[r.error ?? 'error'] = (errors[r.error ?? 'error'] ?? 0) + 1;
  return {
    requests: records.length,
    succeeded: ok.length,
    failed: records.length - ok.length,
    successRate: records.length > 0 ? ok.length / records.length : 0,
    durationS,
    ttft: distribution(ttft),
    tpot: distribution(tpot),
    ntpot: distribution(ntpot),
    itl: distribution(itl),
    e2e: distribution(e2e),
    inputTokensPerS: per(inTok),
    outputTokensPerS: per(outTok),
    totalTokensPerS: per(inTok + outTok),
    requestsPerS: per(ok.length),
    goodput:
      constrained && ok.length > 0
        ? { percent: (100 * good) / ok.length, requestsPerS: goodRate(ok, good), tokensPerS: goodRate(ok, goodTok), good }
        : null,
    prefixHitRate: cachedPrompt > 0 ? cached / cachedPrompt : null,
    imbalance: pods > 0 ? imbalance(records, pods) : null,
    errors,
  };
}

function meets(limit: number | undefined, value: number | null): boolean {
  return limit === undefined || (value !== null && value <= limit);
}

/** inference-perf divides goodput by the window of the successful requests. */
function goodRate(ok: readonly RequestRecord[], x: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of ok) {
    if (r.start < lo) lo = r.start;
    if (r.end > hi) hi = r.end;
  }
  const s = (hi - lo) / 1000;
  return s > 0 ? x / s : 0;
}

function imbalance(records: readonly RequestRecord[], pods: number): NonNullable<StageSummary['imbalance']> {
  const podRequests = new Array<number>(pods).fill(0);
  const podPromptTokens = new Array<number>(pods).fill(0);
  for (const r of records) {
    if (r.pod < 0 || r.pod >= pods) continue;
    podRequests[r.pod]++;
    podPromptTokens[r.pod] += r.promptTokens;
  }
  return { podRequests, podPromptTokens, cvPromptTokens: coefficientOfVariation(podPromptTokens) };
}

/** Population standard deviation over mean; 0 for an all-zero or empty list. */
export function coefficientOfVariation(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (mean === 0) return 0;
  const v = xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / xs.length;
  return Math.sqrt(v) / mean;
}
