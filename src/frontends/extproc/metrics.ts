/**
 * Metrics of the ext_proc front door itself. Per-request metrics (the Go EPP's
 * `inference_objective_*` family) are the director's; these count what happens before or around
 * it: streams, gateway protocol violations and requests answered locally (e.g. 413).
 */
import { Counter, Gauge, Registry } from 'prom-client';

/** Counters the stream handler updates; one instance per server. */
export interface ExtProcMetrics {
  /** A Process stream opened (+1) or closed (-1). */
  streamOpened(): void;
  streamClosed(): void;
  /** The gateway broke the protocol (message out of order, no oneof set, undecodable bytes). */
  protocolError(reason: string): void;
  /** A request answered by the front door itself with `code` (e.g. SB_ERR_BODY_TOO_LARGE). */
  localRejection(code: string): void;
}

/** prom-client implementation registered on `registry`. */
export function createExtProcMetrics(registry: Registry): ExtProcMetrics {
  const active = new Gauge({
    name: 'switchboard_extproc_active_streams',
    help: 'ext_proc Process streams currently open.',
    registers: [registry],
  });
  const streams = new Counter({
    name: 'switchboard_extproc_streams_total',
    help: 'ext_proc Process streams opened.',
    registers: [registry],
  });
  const protocolErrors = new Counter({
    name: 'switchboard_extproc_protocol_errors_total',
    help: 'ext_proc streams ended with a gRPC error because the gateway broke the protocol.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const localRejections = new Counter({
    name: 'switchboard_extproc_local_rejections_total',
    help: 'Requests the ext_proc front door answered itself with an ImmediateResponse, by error code.',
    labelNames: ['code'],
    registers: [registry],
  });
  return {
    streamOpened() {
      streams.inc();
      active.inc();
    },
    streamClosed() {
      active.dec();
    },
    protocolError(reason) {
      protocolErrors.inc({ reason });
    },
    localRejection(code) {
      localRejections.inc({ code });
    },
  };
}
