/**
 * Admission helpers every step shares: the flow id, sheddable priorities, the saturation of a
 * request's candidates. The contracts (`AdmissionGate`, `AdmissionRequest`) are in
 * framework/gate.ts; the gates are plugins (plugins/legacy-admission-gate, plugins/flow-control-gate).
 */
import type { EndpointPool } from '../pool/pool.js';
import type { AdmissionRequest } from './framework/gate.js';
import { DEFAULT_FAIRNESS_ID } from '../request/headers.js';
import type { SaturationDetector } from '../scheduling/framework/saturation-detector.js';

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

/** The contracts under their older names, for code that imports them from here. */
export type { AdmissionGate as Admission, AdmissionRequest, AdmissionVerdict } from './framework/gate.js';
