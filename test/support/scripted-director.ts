/**
 * A scripted `Director` for the ext_proc front door's protocol tests: each test says which
 * decision to return and inspects what the front door passed in and reported back. It stands in
 * for the core only where the test's subject is the front door's wire behaviour; the hermetic
 * cases (test/extproc/hermetic.test.ts) run the real director.
 */
import type {
  Decision,
  Director,
  InferenceRequest,
  Outcome,
  RequestLifecycle,
  RoutedDecision,
  Usage,
} from '../../src/director/types.js';
import type { SwitchboardError } from '../../src/errors.js';
import type { Endpoint } from '../../src/pool/endpoint.js';

/** Every lifecycle call, in order. */
export type LifecycleEvent =
  | { call: 'served'; endpoint: string }
  | { call: 'responseHeaders'; status: number; contentType: string | undefined }
  | { call: 'responseBody'; chunk: string; endOfStream: boolean }
  | { call: 'finish'; outcome: Outcome };

/** How the lifecycle answers responseBody: echo each chunk, or hold until end of stream. */
export type ResponseBodyPolicy = 'echo' | 'hold' | ((chunk: Buffer, eos: boolean) => Buffer | null);

export class RecordingLifecycle implements RequestLifecycle {
  readonly events: LifecycleEvent[] = [];
  private held: Buffer[] = [];

  constructor(private readonly policy: ResponseBodyPolicy) {}

  served(endpointKey: string): void {
    this.events.push({ call: 'served', endpoint: endpointKey });
  }
  responseHeaders(status: number, contentType: string | undefined): void {
    this.events.push({ call: 'responseHeaders', status, contentType });
  }
  responseBody(chunk: Buffer, endOfStream: boolean): Buffer | null {
    this.events.push({ call: 'responseBody', chunk: chunk.toString('utf8'), endOfStream });
    if (typeof this.policy === 'function') return this.policy(chunk, endOfStream);
    if (this.policy === 'echo') return chunk;
    this.held.push(chunk);
    if (!endOfStream) return null;
    const whole = Buffer.concat(this.held);
    this.held = [];
    return whole;
  }
  finish(outcome: Outcome): void {
    this.events.push({ call: 'finish', outcome });
  }
  usage(): Usage | null {
    return null;
  }
  /** The calls of one kind. */
  calls<K extends LifecycleEvent['call']>(kind: K): Array<Extract<LifecycleEvent, { call: K }>> {
    return this.events.filter((e): e is Extract<LifecycleEvent, { call: K }> => e.call === kind);
  }
}

export interface RouteScript {
  kind: 'route';
  destination: string;
  /** Body to send upstream; default: the request's own buffer. */
  body?: Buffer | null;
  responseBody?: ResponseBodyPolicy;
  /** Delay before answering, in ms (exercises paused streams). */
  delayMs?: number;
}

export interface RejectScript {
  kind: 'reject';
  error: SwitchboardError;
}

/** A director whose answers come from `script`; it records requests and lifecycles. */
export class ScriptedDirector implements Director {
  readonly requests: InferenceRequest[] = [];
  /** Request bodies as received (copies, so later buffer reuse cannot hide a bug). */
  readonly bodies: Array<Buffer | null> = [];
  readonly lifecycles: RecordingLifecycle[] = [];
  /** Each request's abort signal, read when the request arrived (as admission would). */
  readonly signals: Array<AbortSignal | undefined> = [];

  constructor(public script: (req: InferenceRequest) => RouteScript | RejectScript) {}

  async handleRequest(req: InferenceRequest): Promise<Decision> {
    this.requests.push(req);
    this.signals.push(req.signal);
    this.bodies.push(req.body === null ? null : Buffer.from(req.body));
    const s = this.script(req);
    if (s.kind === 'reject') return { kind: 'reject', error: s.error };
    if (s.delayMs !== undefined) await new Promise((r) => setTimeout(r, s.delayMs));
    const lifecycle = new RecordingLifecycle(s.responseBody ?? 'echo');
    this.lifecycles.push(lifecycle);
    const body = s.body === undefined ? req.body : s.body;
    const decision: RoutedDecision = {
      kind: 'route',
      endpoints: [] as Endpoint[],
      destination: s.destination,
      body,
      bodyRewritten: s.body !== undefined && s.body !== null && !(req.body !== null && s.body.equals(req.body)),
      incomingModel: '',
      targetModel: '',
      stream: false,
      lifecycle,
      explanation: null,
    };
    return decision;
  }
}

/** Routes everything to `destination`, echoing bodies. */
export function routeAll(destination: string, extra: Partial<RouteScript> = {}): ScriptedDirector {
  return new ScriptedDirector(() => ({ kind: 'route', destination, ...extra }));
}
