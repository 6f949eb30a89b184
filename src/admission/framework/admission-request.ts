/** What every admission step (guard, budget, gate, flow policy) knows about a request. */
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
