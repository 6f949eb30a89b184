/** Header names of the Endpoint Picker Protocol and the request headers it honours. */

/** Lower-cased header lookup; each front door adapts its own header representation. */
export interface HeaderSource {
  get(name: string): string | undefined;
}

/** Routing header (and envoy.lb metadata key) carrying the picked `ip:port[,ip:port...]`. */
export const DESTINATION_ENDPOINT = 'x-gateway-destination-endpoint';
/** Metadata key with the endpoint that really served the request (response path). */
export const DESTINATION_ENDPOINT_SERVED = 'x-gateway-destination-endpoint-served';
/** Metadata key of the gateway's subset hint. */
export const DESTINATION_ENDPOINT_SUBSET = 'x-gateway-destination-endpoint-subset';
/** Metadata namespace for the routing decision. */
export const DESTINATION_NAMESPACE = 'envoy.lb';
/** Metadata namespace of the subset hint. */
export const SUBSET_NAMESPACE = 'envoy.lb.subset_hint';
/** Names the InferenceObjective (priority) of the request. */
export const OBJECTIVE_HEADER = 'x-gateway-inference-objective';
/** Overrides the model sent upstream. */
export const MODEL_REWRITE_HEADER = 'x-gateway-model-name-rewrite';
/** Flow id for fairness between tenants. */
export const FAIRNESS_ID_HEADER = 'x-gateway-inference-fairness-id';
/** Request id; generated when missing. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** Fairness id used when the request names none. */
export const DEFAULT_FAIRNESS_ID = 'default-flow';

/**
 * Headers only the gateway and picker may set. A client that sends them is never trusted: they
 * are ignored for routing and removed from what goes upstream.
 */
export const SYSTEM_OWNED_HEADERS: ReadonlySet<string> = new Set([
  DESTINATION_ENDPOINT,
  DESTINATION_ENDPOINT_SERVED,
  DESTINATION_ENDPOINT_SUBSET,
]);

/** True for any `x-gateway-destination-endpoint*` header name (lower-case). */
export function isSystemOwnedHeader(name: string): boolean {
  return name.startsWith(DESTINATION_ENDPOINT);
}

/**
 * Why a request's content type cannot carry an OpenAI JSON body, or null when it can: absent,
 * `application/json` or any `+json` type (parameters such as charset are ignored).
 */
export function contentTypeProblem(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) return null;
  return `content-type must be application/json, got ${JSON.stringify(value.slice(0, 100))}`;
}
