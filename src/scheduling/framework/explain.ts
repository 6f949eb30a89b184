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
  /** Metrics the scorers and filters saw (`tpotMs`, `ttftMs`: observed from responses, 0 unknown; `preemptions` per second). */
  metrics: {
    waiting: number;
    running: number;
    kvUsage: number;
    inflight: number;
    pendingPrefill: number;
    tpotMs: number;
    ttftMs: number;
    preemptions: number;
    fresh: boolean;
  };
}

/** Which term moved the request: the pick against its closest rival. */
export interface DecisiveTerm {
  /** The candidate with the next-best total, or null when only one was left. */
  runnerUp: string | null;
  /** Per scorer, weight x (picked score - runner-up score): positive terms pulled toward the pick. */
  margins: Record<string, number>;
  /** The scorer with the largest positive margin (null on a tie or a single candidate). */
  term: string | null;
  /** Filters that removed endpoints before scoring (e.g. a saturated prefix holder), with how many. */
  filtered: Record<string, number>;
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
  /** Which term moved the request (absent on the stale-metrics fallback). */
  decisive: DecisiveTerm | null;
  endpoints: EndpointExplanation[];
}
