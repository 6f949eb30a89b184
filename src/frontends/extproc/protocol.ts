/**
 * ext_proc-specific constants of the Endpoint Picker Protocol. Header and metadata names shared
 * with the other front door live in src/request/headers.ts.
 */

/** Largest `streamed_response` chunk: "certain envoy implementations set a max limit of 64Kb per streamed chunk" (GIE). */
export const STREAMED_CHUNK_BYTES = 62_000;

/** Request path headers, in the order the reference EPP consults them when `:path` is absent. */
export const PATH_HEADERS = [':path', 'x-original-path', 'x-forwarded-path'] as const;
/** API path assumed when no path header is present (the reference EPP's default). */
export const DEFAULT_API_PATH = '/v1/completions';
