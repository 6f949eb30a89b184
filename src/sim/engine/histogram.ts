/**
 * Cumulative Prometheus-style histograms with vLLM's bucket boundaries (seconds).
 */

/** `vllm:time_to_first_token_seconds` buckets. */
export const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0,
  640.0, 2560.0,
];
/** `vllm:inter_token_latency_seconds` buckets. */
export const ITL_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];
/** `vllm:e2e_request_latency_seconds` buckets. */
export const E2E_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0,
  7680.0,
];

/** A histogram: per-bucket (non-cumulative) counts, sum and count. */
export class Histogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[]) {
    this.counts = new Float64Array(buckets.length + 1);
  }

  /** Adds one observation (seconds). */
  observe(v: number): void {
    const b = this.buckets;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v <= b[mid]) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]++;
    this.sum += v;
    this.count++;
  }

  /** Cumulative counts per upper bound, `+Inf` last. */
  cumulative(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    let acc = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      acc += this.counts[i];
      out.push([String(this.buckets[i]), acc]);
    }
    out.push(['+Inf', acc + this.counts[this.buckets.length]]);
    return out;
  }
}
