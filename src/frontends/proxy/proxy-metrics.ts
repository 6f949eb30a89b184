/**
 * Counters of what only the proxy sees: errors it answered itself, upstream failures, retries
 * and client cancellations. Request, token and latency metrics come from the shared lifecycle.
 */
import { Counter, type Registry } from 'prom-client';
import type { LingeringCloseEnd } from './lingering-close.js';

/** Why an attempt on a pod failed. */
export type UpstreamFailureReason = 'connect' | 'connect_timeout' | 'first_byte_timeout' | 'reset' | 'idle_timeout' | 'protocol' | 'status_5xx';

export class ProxyMetrics {
  private readonly errors: Counter<'code'> | null;
  private readonly failures: Counter<'reason'> | null;
  private readonly retries: Counter<'kind'> | null;
  private readonly cancels: Counter | null;
  private readonly lingering: Counter<'reason'> | null;
  private readonly discarded: Counter | null;

  /** With no registry every method is a no-op (tests, benchmarks). */
  constructor(registry: Registry | null) {
    if (registry === null) {
      this.errors = this.failures = this.retries = this.cancels = this.lingering = this.discarded = null;
      return;
    }
    // Reuse counters already registered (a proxy restarted in the same process).
    const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
      (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
    this.errors = counter('switchboard_proxy_errors_total', 'Error responses the proxy answered itself, by error code.', ['code']);
    this.failures = counter('switchboard_proxy_upstream_failures_total', 'Failed attempts to get a response from a pod, by reason.', ['reason']);
    this.retries = counter(
      'switchboard_proxy_retries_total',
      'Requests sent to another pod after a failure: the next fallback endpoint or a new pick.',
      ['kind'],
    );
    this.cancels = counter('switchboard_proxy_client_cancels_total', 'Requests the client abandoned before their response ended.', []);
    this.lingering = counter(
      'switchboard_proxy_lingering_closes_total',
      'Connections closed after a body refused while it arrived was read and dropped, by how the discard ended: body_end, client_closed, byte_cap, time_cap.',
      ['reason'],
    );
    this.discarded = counter('switchboard_proxy_discarded_request_bytes_total', 'Bytes of refused request bodies read and dropped before closing their connection.', []);
  }

  /** The proxy answered an error with `code`. */
  error(code: string): void {
    this.errors?.inc({ code });
  }

  /** An attempt on a pod failed. */
  upstreamFailure(reason: UpstreamFailureReason): void {
    this.failures?.inc({ reason });
  }

  /** A request was sent again: to the next fallback endpoint or after a new pick. */
  retry(kind: 'fallback' | 'repick'): void {
    this.retries?.inc({ kind });
  }

  /** A lingering close ended after discarding `bytes`. */
  lingeringClose(reason: LingeringCloseEnd, bytes: number): void {
    this.lingering?.inc({ reason });
    this.discarded?.inc(bytes);
  }

  /** A client went away mid-request. */
  clientCancel(): void {
    this.cancels?.inc();
  }
}
