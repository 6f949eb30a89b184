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
  /** Name of the filter that let the endpoint in past its own bounds (a spill while every endpoint it kept queued), or null. */
  spilledBy: string | null;
  /** Name of the filter that kept the endpoint only through an allowance past its bound (it runs the requested adapter), or null. */
  allowedBy: string | null;
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
  /** The filter whose spill let the picked endpoint in (every endpoint it kept was queueing), or null. */
  spilledBy: string | null;
  /** The filter that kept the picked endpoint only through an allowance past its bound (the adapter allowance), or null. */
  allowedBy: string | null;
  /**
   * The picker took an endpoint whose total is below the best one's: with max-score-picker a near
   * tie (`tieMargin`) won on load, with a random picker the draw. `runnerUp` is then the best total.
   */
  pickedBelowBest: boolean;
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
  /** With several pools: which pool took the request and why (absent with one pool). */
  pool?: PoolChoice;
}

/** How a multi-pool picker chose the pool (`pools:` in the config). */
export interface PoolChoice {
  /** Pool that served the request. */
  pool: string;
  /** First pool of the request's spill policy. */
  preferred: string;
  /** Why the request is not in its preferred pool (saturated, no_endpoints, unhealthy, ramp, no_candidates), or null. */
  spillReason: string | null;
  /** Every pool of the policy as it stood: state, detector reading, share it takes while ramping back. */
  pools: Array<{ name: string; state: 'ok' | 'saturated' | 'no_endpoints' | 'unhealthy'; saturation: number; rampShare: number }>;
}
