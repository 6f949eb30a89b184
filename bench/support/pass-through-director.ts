/**
 * A director that does the least any director must: parse the body (to read `model` and
 * `stream`), route to the pool's first endpoint and count it in flight. No filtering, scoring,
 * admission, usage parsing or metrics. The benchmark runs Switchboard's proxy with it as a
 * fourth configuration, `proxy-layer`, to split the front door's own cost from the core's.
 */
import type { Decision, Director, InferenceRequest, RequestLifecycle } from '../../src/director/types.js';
import type { Endpoint } from '../../src/pool/endpoint.js';
import type { EndpointPool } from '../../src/pool/pool.js';

class PassThroughLifecycle implements RequestLifecycle {
  constructor(
    private readonly pool: EndpointPool,
    private readonly ep: Endpoint,
  ) {}
  served(): void {}
  responseHeaders(): void {}
  responseBody(chunk: Buffer): Buffer {
    return chunk;
  }
  finish(): void {
    this.pool.complete(this.ep, 0);
  }
  usage(): null {
    return null;
  }
}

export class PassThroughDirector implements Director {
  constructor(private readonly pool: EndpointPool) {}

  async handleRequest(req: InferenceRequest): Promise<Decision> {
    const parsed = JSON.parse((req.body as Buffer).toString('utf8')) as { model: string; stream?: boolean };
    const ep = this.pool.endpoints()[0];
    this.pool.dispatch(ep.slot, 0);
    return {
      kind: 'route',
      endpoints: [ep],
      destination: ep.key,
      body: req.body,
      bodyRewritten: false,
      incomingModel: parsed.model,
      targetModel: parsed.model,
      stream: parsed.stream === true,
      lifecycle: new PassThroughLifecycle(this.pool, ep),
      explanation: null,
    };
  }
}
