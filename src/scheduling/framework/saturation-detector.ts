/**
 * The saturation detector contract: how loaded a set of endpoints is, 0 (idle) to 1 (saturated)
 * and above. Admission sheds or queues on it; a detector may also be a filter in the profile.
 * Implementations are scheduling plugins (utilization-detector, concurrency-detector).
 */
import type { EndpointPool } from '../../pool/pool.js';

export interface SaturationDetector {
  /**
   * Saturation over `slots[0..count)` at clock time `now`. `pendingRequests` (`pendingTokens`)
   * are admitted but not yet on any endpoint: flow control releases several requests in one
   * dispatch cycle, before the scheduler has placed the first.
   */
  saturation(pool: EndpointPool, slots: ArrayLike<number>, count: number, now: number, pendingRequests?: number, pendingTokens?: number): number;
}

/** Whether plugin `p` can act as the saturation detector. */
export function isSaturationDetector(p: object): p is SaturationDetector {
  return typeof (p as Partial<SaturationDetector>).saturation === 'function';
}
