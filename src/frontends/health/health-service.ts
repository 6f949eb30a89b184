/**
 * gRPC health (`grpc.health.v1`) for the Endpoint Picker Protocol's services:
 * `liveness` (the process answers), `readiness`, `envoy.service.ext_proc.v3.ExternalProcessor`
 * and `""` (the pool is synced and we are not draining). `inference-extension` is an alias of
 * readiness because the GIE Helm chart probes that name on single-replica deployments.
 *
 * Check on an unknown name fails with NOT_FOUND (the spec; the Go EPP answers SERVICE_UNKNOWN).
 * Watch sends the current status, then every change, and SERVICE_UNKNOWN for unknown names
 * without ending the call. Readiness is polled from a narrow interface while anyone watches.
 */
import {
  status as GrpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthListResponse,
  type ServingStatusValue,
} from './health-codec.js';

/** What readiness depends on (the lead wires the pool's sync state here). */
export interface Readiness {
  /** True when endpoints are known and metrics collected. */
  ready(): boolean;
}

/** Service names that report readiness. */
export const READINESS_SERVICES = ['', 'readiness', 'envoy.service.ext_proc.v3.ExternalProcessor', 'inference-extension'];
/** Service name that reports liveness. */
export const LIVENESS_SERVICE = 'liveness';

export interface HealthServiceOptions {
  readiness: Readiness;
  /** How often Watch streams re-read readiness, in ms (default 1000). */
  pollIntervalMs?: number;
  /** Most Watch streams open at once; more are refused with RESOURCE_EXHAUSTED (default 1000). */
  maxWatchers?: number;
}

/** Health state and the grpc-js handlers that serve it; one instance can serve several servers. */
export class HealthService {
  private readonly readiness: Readiness;
  private readonly pollIntervalMs: number;
  private draining = false;
  private readonly watchers = new Set<{ service: string; last: ServingStatusValue; call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse> }>();
  private timer: NodeJS.Timeout | null = null;
  private readonly maxWatchers: number;

  constructor(options: HealthServiceOptions) {
    this.readiness = options.readiness;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.maxWatchers = options.maxWatchers ?? 1000;
  }

  /** Status of `service`, or null when the name is unknown. */
  status(service: string): ServingStatusValue | null {
    if (service === LIVENESS_SERVICE) return ServingStatus.SERVING;
    if (!READINESS_SERVICES.includes(service)) return null;
    if (this.draining) return ServingStatus.NOT_SERVING;
    let ready = false;
    try {
      ready = this.readiness.ready();
    } catch {
      ready = false;
    }
    return ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  }

  /** Shutting down: readiness services turn NOT_SERVING (liveness stays SERVING) and watchers hear it. */
  setDraining(): void {
    this.draining = true;
    this.notify();
  }

  /** Re-reads readiness and tells watchers about changes (also done on a timer while watched). */
  notify(): void {
    for (const w of this.watchers) {
      const next = this.status(w.service) ?? ServingStatus.SERVICE_UNKNOWN;
      if (next !== w.last) {
        w.last = next;
        w.call.write({ status: next });
      }
    }
  }

  /** Ends every Watch stream and stops polling. */
  close(): void {
    for (const w of this.watchers) w.call.end();
    this.watchers.clear();
    this.stopTimer();
  }

  /** grpc-js handlers for `healthServiceDefinition`. */
  implementation(): UntypedServiceImplementation {
    return {
      Check: (call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: sendUnaryData<HealthCheckResponse>) => {
        const service = call.request.service ?? '';
        const st = this.status(service);
        if (st === null) callback({ code: GrpcStatus.NOT_FOUND, details: `unknown service "${service}"` });
        else callback(null, { status: st });
      },
      List: (_call: ServerUnaryCall<unknown, HealthListResponse>, callback: sendUnaryData<HealthListResponse>) => {
        const statuses: Record<string, HealthCheckResponse> = {};
        for (const name of [LIVENESS_SERVICE, ...READINESS_SERVICES]) statuses[name] = { status: this.status(name)! };
        callback(null, { statuses });
      },
      Watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        // Each watcher holds a stream for as long as it likes: bound how many may (probes use Check).
        if (this.watchers.size >= this.maxWatchers) {
          call.emit('error', { code: GrpcStatus.RESOURCE_EXHAUSTED, details: `more than ${this.maxWatchers} health watchers` });
          return;
        }
        const service = call.request.service ?? '';
        const watcher = { service, last: this.status(service) ?? ServingStatus.SERVICE_UNKNOWN, call };
        this.watchers.add(watcher);
        call.write({ status: watcher.last });
        const drop = () => {
          this.watchers.delete(watcher);
          if (this.watchers.size === 0) this.stopTimer();
        };
        call.on('cancelled', drop);
        call.on('close', drop);
        call.on('error', drop);
        this.startTimer();
      },
    };
  }

  private startTimer(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.notify(), this.pollIntervalMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }
}
