/**
 * Admission: decides whether a request may go on to scheduling. The legacy controller sheds
 * sheddable requests (priority < 0) when the pool is saturated; flow control (queueing with
 * fairness), prompt guards and token budgets plug in behind the same interface.
 */
import type { Usage } from '../request/usage.js';
import { sbError, type SwitchboardError } from '../errors.js';
import type { EndpointPool } from '../pool/pool.js';
import { DEFAULT_FAIRNESS_ID } from '../request/headers.js';
import type { SaturationDetector } from '../scheduling/framework/saturation-detector.js';

/** What admission knows about a request. */
export interface AdmissionRequest {
  requestId: string;
  priority: number;
  /** Flow id (`x-gateway-inference-fairness-id`, default `default-flow`). */
  fairnessId: string;
  /** Objective named by `x-gateway-inference-objective`, or ''. */
  objective: string;
  /** Model named by the client, and the model sent upstream after rewrites. */
  incomingModel: string;
  targetModel: string;
  /** Request body size, for byte limits. */
  bytes: number;
  /** Estimated tokens (prompt plus expected output), as charged to the endpoint's load. */
  tokens: number;
  /** The request body and the prompt value's byte range in it (the whole body when it was not parsed). */
  body: Buffer | null;
  promptStart: number;
  promptEnd: number;
  /** Slots the request may be scheduled on (after the subset hint); computed on demand. */
  candidates: () => number[];
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
}

/** What an admission step answers: null admits, an error rejects; a promise when it waits. */
export type AdmissionVerdict = SwitchboardError | null | Promise<SwitchboardError | null>;

/** A request admission decision point. */
export interface Admission {
  /**
   * True when a request of `priority` is admitted without looking at it (and needs no hooks):
   * the director then skips building the admission request. Absent = always look.
   */
  bypass?(priority: number): boolean;
  /** Null admits; an error rejects. May wait (flow control, external screening). */
  admit(req: AdmissionRequest): AdmissionVerdict;
  /** An admitted request is on the pool's books now (routed), or will never be (scheduling failed). */
  placed?(req: AdmissionRequest): void;
  /**
   * An admitted and routed request finished; `usage` is from its response when it had one,
   * `failed` when the upstream answered an error or the exchange broke.
   */
  finished?(req: AdmissionRequest, usage: Usage | null, failed: boolean): void;
}

/** Longest fairness id kept; longer client-sent ids are cut (they key maps and metric labels). */
const MAX_FLOW_ID = 128;

/** The flow id for a `x-gateway-inference-fairness-id` value (default `default-flow`). */
export function flowId(header: string | undefined): string {
  if (header === undefined || header === '') return DEFAULT_FAIRNESS_ID;
  return header.length > MAX_FLOW_ID ? header.slice(0, MAX_FLOW_ID) : header;
}

/** True for sheddable priorities. */
export function isSheddable(priority: number): boolean {
  return priority < 0;
}

/** Saturation of the candidates of `req`. */
export function saturationOf(pool: EndpointPool, detector: SaturationDetector, req: AdmissionRequest, pendingRequests = 0, pendingTokens = 0): number {
  const slots = req.candidates();
  return detector.saturation(pool, slots, slots.length, pool.clock.now(), pendingRequests, pendingTokens);
}

/** The Go EPP's default: shed sheddable requests while saturation >= 1. */
export class LegacyAdmission implements Admission {
  constructor(
    private readonly pool: EndpointPool,
    private readonly detector: SaturationDetector,
  ) {}

  bypass(priority: number): boolean {
    return !isSheddable(priority);
  }

  admit(req: AdmissionRequest): SwitchboardError | null {
    if (!isSheddable(req.priority)) return null;
    return saturationOf(this.pool, this.detector, req) >= 1 ? sbError('SB_ERR_SHED') : null;
  }
}
