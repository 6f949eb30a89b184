/** Response observations as lifecycle hooks receive them, for unit tests of hook plugins. */
import type { ResponseObservation } from '../../src/director/framework/lifecycle-hook.js';
import type { Endpoint } from '../../src/pool/endpoint.js';

/** The fields every test leaves at their plain value: request `r` for model `m`, answered 200 as a stream. */
type Plain = 'requestId' | 'endpoint' | 'incomingModel' | 'targetModel' | 'priority' | 'outcome' | 'status' | 'errorCode' | 'streamed' | 'requestBytes' | 'responseBytes' | 'retry';

/** A successful streamed response on `ep`; the caller gives the usage and timings (and may override the rest). */
export function observation(ep: Endpoint, fields: Omit<ResponseObservation, Plain | 'endpoint'> & Partial<ResponseObservation>): ResponseObservation {
  return {
    requestId: 'r',
    endpoint: ep,
    incomingModel: 'm',
    targetModel: 'm',
    priority: 0,
    outcome: 'ok',
    status: 200,
    errorCode: null,
    streamed: true,
    requestBytes: 100,
    responseBytes: 1000,
    retry: false,
    ...fields,
  };
}
