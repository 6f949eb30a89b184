/**
 * Names fixed by the Endpoint Picker Protocol (GIE `docs/proposals/004-endpoint-picker-protocol`)
 * and the reference EPP (`pkg/epp/metadata/consts.go`).
 */

/** Namespace of the routing metadata Switchboard writes and the served-endpoint feedback it reads. */
export const DESTINATION_NAMESPACE = 'envoy.lb';
/** Header and metadata key carrying `ip:port[,ip:port...]`, best first. */
export const DESTINATION_KEY = 'x-gateway-destination-endpoint';
/** Metadata key (in `envoy.lb`) naming the endpoint that really served the request. */
export const DESTINATION_SERVED_KEY = 'x-gateway-destination-endpoint-served';
/** Namespace of the gateway's subset hint. */
export const SUBSET_NAMESPACE = 'envoy.lb.subset_hint';
/** Key (in `envoy.lb.subset_hint`) listing the endpoints the pick must come from. */
export const SUBSET_KEY = 'x-gateway-destination-endpoint-subset';
/** Prefix of the system headers a client may never set itself. */
export const SYSTEM_HEADER_PREFIX = 'x-gateway-destination-endpoint';

/** Request id header; generated when the client sent none. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Largest `streamed_response` chunk: "certain envoy implementations set a max limit of 64Kb per streamed chunk". */
export const STREAMED_CHUNK_BYTES = 62_000;

/** Request path headers, in the order the reference EPP consults them when `:path` is absent. */
export const PATH_HEADERS = [':path', 'x-original-path', 'x-forwarded-path'] as const;
/** API path assumed when no path header is present (the reference EPP's default). */
export const DEFAULT_API_PATH = '/v1/completions';
