/**
 * Admission: decides whether a scheduled-to-be request may proceed. The legacy controller sheds
 * sheddable requests (priority < 0) when the pool is saturated; flow control (queueing with
 * fairness) plugs in behind the same interface.
 */
import { sbError, type SwitchboardError } from '../errors.js';
import type { EndpointPool } from '../pool/pool.js';
import type { SaturationDetector } from '../scheduling/plugins/utilization-detector/index.js';

/** What admission knows about a request. */
export interface AdmissionRequest {
  requestId: string;
  priority: number;
  fairnessId: string;
  /** Request body size, for byte limits. */
  bytes: number;
  /** Slots the request may be scheduled on (after the subset hint); computed on demand. */
  candidates: () => number[];
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
}

/** A request admission decision point. */
export interface Admission {
  /** Null admits; an error rejects. May wait (flow control). */
  admit(req: AdmissionRequest): SwitchboardError | null | Promise<SwitchboardError | null>;
}

/** True for sheddable priorities. */
export function isSheddable(priority: number): boolean {
  return priority < 0;
}

/** The Go EPP's default: shed sheddable requests while saturation >= 1. */
export class LegacyAdmission implements Admission {
  constructor(
    private readonly pool: EndpointPool,
    private readonly detector: SaturationDetector,
  ) {}

  admit(req: AdmissionRequest): SwitchboardError | null {
    if (!isSheddable(req.priority)) return null;
    const slots = req.candidates();
    const s = this.detector.saturation(this.pool, slots, slots.length, this.pool.clock.now());
    return s >= 1 ? sbError('SB_ERR_SHED') : null;
  }
}
