/**
 * The director the proxy benchmark runs with.
 *
 * STAND-IN until the real director (`src/director/director.ts`) lands on main: it parses the
 * body (as any director must, to read `model` and `stream`), routes to the pool's first
 * endpoint and counts in-flight requests, but does no filtering, scoring, usage parsing or
 * metrics. Numbers taken with it measure the proxy's own forwarding cost only; the results
 * file records which director ran.
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

class StandInDirector implements Director {
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

/** The director for the benchmark and what it is (`stand-in` or `real`). */
export async function benchDirector(pool: EndpointPool): Promise<{ director: Director; kind: string }> {
  return { director: new StandInDirector(pool), kind: 'stand-in' };
}
