/**
 * Explanations of scheduling decisions: which filter removed each endpoint, each scorer's score
 * and weight, the weighted total, and what the picker chose. Built only when asked for, so the
 * hot path pays nothing otherwise.
 */

/** One endpoint's part in a decision. */
export interface EndpointExplanation {
  endpoint: string;
  /** Name of the filter that removed the endpoint, or null if it stayed a candidate. */
  filteredBy: string | null;
  /** Raw score in [0,1] per scorer name. */
  scores: Record<string, number>;
  /** Weighted sum of the scores. */
  total: number;
  /** Metrics the scorers saw. */
  metrics: { waiting: number; running: number; kvUsage: number; inflight: number; fresh: boolean };
}

/** A whole scheduling decision. */
export interface Explanation {
  profile: string;
  /** Scorer name -> weight. */
  weights: Record<string, number>;
  picker: string;
  /** Picked endpoints, best first. */
  picked: string[];
  /** Why the fallback path ran (all metrics stale), or null. */
  fallback: string | null;
  endpoints: EndpointExplanation[];
}
