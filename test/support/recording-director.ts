/**
 * A contract-level stand-in for the director, for unit tests of the proxy front door only: it
 * picks endpoints in pool order (those serving the request's model first), optionally rejects,
 * and records every lifecycle call so tests can check the proxy's side of the contract (one
 * `finish`, `served` on the right pod, every chunk through `responseBody`).
 *
 * Integration tests use the real director; this one schedules nothing.
 */
import { sbError, type SwitchboardError } from '../../src/errors.js';
import type { Decision, Director, InferenceRequest, Outcome, RequestLifecycle, Usage } from '../../src/director/types.js';
import type { Endpoint } from '../../src/pool/endpoint.js';
import type { EndpointPool } from '../../src/pool/pool.js';
import type { Explanation } from '../../src/scheduling/framework/explain.js';

export class RecordingLifecycle implements RequestLifecycle {
  readonly servedKeys: string[] = [];
  readonly headers: Array<[number, string | undefined]> = [];
  chunks = 0;
  bytes = 0;
  sawEndOfStream = false;
  readonly finishes: Array<[Outcome, string | undefined]> = [];

  constructor(
    private readonly pool: EndpointPool,
    readonly endpoint: Endpoint,
  ) {
    pool.dispatch(endpoint.slot, 0);
  }

  served(endpointKey: string): void {
    this.servedKeys.push(endpointKey);
  }
  responseHeaders(status: number, contentType: string | undefined): void {
    this.headers.push([status, contentType]);
  }
  responseBody(chunk: Buffer, endOfStream: boolean): Buffer | null {
    if (chunk.length > 0) this.chunks++;
    this.bytes += chunk.length;
    if (endOfStream) this.sawEndOfStream = true;
    return chunk;
  }
  finish(outcome: Outcome, errorCode?: string): void {
    this.finishes.push([outcome, errorCode]);
    if (this.finishes.length === 1) this.pool.complete(this.endpoint, 0);
  }
  usage(): Usage | null {
    return null;
  }
}

export interface RecordingDirectorOptions {
  /** Endpoints per decision (the picker's maxNumOfEndpoints). */
  fallbacks?: number;
  /** Reject every request with this error. */
  reject?: SwitchboardError;
  /** Order of preference by endpoint key (default: pool order). */
  order?: () => string[];
  /** Hold every request as if queued in admission until its signal aborts. */
  holdUntilAborted?: boolean;
}

export class RecordingDirector implements Director {
  readonly requests: InferenceRequest[] = [];
  readonly lifecycles: RecordingLifecycle[] = [];

  constructor(
    private readonly pool: EndpointPool,
    private readonly options: RecordingDirectorOptions = {},
  ) {}

  async handleRequest(req: InferenceRequest): Promise<Decision> {
    this.requests.push(req);
    if (this.options.holdUntilAborted === true) {
      const signal = req.signal as AbortSignal;
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return { kind: 'reject', error: sbError('SB_ERR_CLIENT_GONE') };
    }
    if (this.options.reject !== undefined) return { kind: 'reject', error: this.options.reject };
    let model = '';
    try {
      model = String((JSON.parse(req.body?.toString('utf8') ?? '{}') as { model?: unknown }).model ?? '');
    } catch {
      return { kind: 'reject', error: sbError('SB_ERR_BAD_JSON', 'not json') };
    }
    const order = this.options.order?.() ?? this.pool.endpoints().map((e) => e.key);
    let eps = order.map((k) => this.pool.get(k)).filter((e): e is Endpoint => e !== undefined);
    if (req.subset !== null) eps = eps.filter((e) => req.subset?.includes(e.key));
    if (req.exclude != null) eps = eps.filter((e) => !req.exclude?.has(e.key));
    if (eps.length === 0) return { kind: 'reject', error: sbError('SB_ERR_NO_CANDIDATES') };
    const picked = eps.slice(0, this.options.fallbacks ?? 1);
    const lifecycle = new RecordingLifecycle(this.pool, picked[0]);
    this.lifecycles.push(lifecycle);
    const explanation: Explanation | null = req.explain === true
      ? { profile: 'default', weights: {}, picker: 'first', picked: picked.map((e) => e.key), fallback: null, decisive: null, endpoints: [] }
      : null;
    return {
      kind: 'route',
      endpoints: picked,
      destination: picked.map((e) => e.key).join(','),
      body: req.body,
      bodyRewritten: false,
      incomingModel: model,
      targetModel: model,
      stream: false,
      lifecycle,
      explanation,
    };
  }
}
