/**
 * The proxy's `InferenceRequest`. Its abort signal is created on first use: most requests are
 * never queued, and an AbortController per request was ~3% of the proxy's busy CPU in
 * `bench:proxy` profiles.
 */
import type { HeaderSource, InferenceRequest } from '../../director/types.js';

export class ProxyRequest implements InferenceRequest {
  constructor(
    readonly requestId: string,
    readonly path: string,
    readonly headers: HeaderSource,
    readonly body: Buffer | null,
    readonly subset: readonly string[] | null,
    readonly explain: boolean,
    private controller: AbortController | null = null,
    readonly exclude: ReadonlySet<string> | null = null,
    readonly retry: boolean = false,
  ) {}

  /** Aborted when the client goes away. */
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  /** The client went away: wakes anything waiting on `signal`. */
  abort(): void {
    this.controller?.abort();
  }

  /** The same request for a new pick that avoids the `failed` endpoints, sharing the signal. */
  retryExcluding(failed: Iterable<string>): ProxyRequest {
    this.controller ??= new AbortController();
    return new ProxyRequest(this.requestId, this.path, this.headers, this.body, this.subset, this.explain, this.controller, new Set(failed), true);
  }
}
