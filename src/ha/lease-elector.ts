/**
 * Active-passive leader election over a `coordination.k8s.io/v1` Lease, with client-go's
 * semantics (which controller-runtime gives the Go EPP):
 *
 * - a candidate takes the Lease when it is free (no holder) or when its record has not changed
 *   for `leaseDuration` as observed on the candidate's own monotonic clock (so clock skew between
 *   nodes does not matter);
 * - writes are optimistic (`resourceVersion`): of two candidates racing, the API server lets one
 *   win and answers the other 409;
 * - the leader renews every `retryPeriod`; if no renewal succeeds for `renewDeadline` it steps
 *   down at once. `renewDeadline < leaseDuration` means the old leader stops leading before anyone
 *   else may start: at most one replica reports ready at a time, with a gap of up to
 *   `leaseDuration` when a leader dies without releasing;
 * - on shutdown the leader releases the Lease (holder cleared) so a standby takes over within one
 *   `retryPeriod` instead of waiting out the lease.
 *
 * Unlike controller-runtime, losing the Lease does not exit the process: the replica turns
 * not-ready and competes again.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KubeClient } from '../discovery/kubernetes/client.js';
import { Sleeper } from '../discovery/kubernetes/sleeper.js';
import { sbError } from '../errors.js';
import type { Leadership } from './leadership.js';

/** Timing of the election, ms. client-go / controller-runtime defaults: 15 s, 10 s, 2 s. */
export interface LeaseTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export interface LeaseElectorOptions extends Partial<LeaseTiming> {
  client: KubeClient;
  namespace: string;
  name: string;
  /** Unique per replica; default `<hostname>_<uuid>`. */
  identity?: string;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
  /** Monotonic ms (injectable). */
  now?: () => number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface LeaseObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  spec: LeaseSpec;
}

/** A Lease-based elector; `start()` runs it in the background. */
export class LeaseElector implements Leadership {
  readonly identity: string;
  private leader = false;
  private readonly listeners = new Set<(leader: boolean) => void>();
  private readonly timing: LeaseTiming;
  private readonly now: () => number;
  private readonly path: string;
  /** The last record seen and when (our clock) it last changed. */
  private observed: { record: string; at: number; lease: LeaseObject } | null = null;
  private lastRenew = -Infinity;
  private stopped = false;
  private running: Promise<void> | null = null;
  private readonly sleeper = new Sleeper();

  constructor(private readonly opts: LeaseElectorOptions) {
    this.identity = opts.identity ?? `${hostname()}_${randomUUID()}`;
    this.timing = {
      leaseDurationMs: opts.leaseDurationMs ?? DEFAULT_LEASE_TIMING.leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs ?? DEFAULT_LEASE_TIMING.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs ?? DEFAULT_LEASE_TIMING.retryPeriodMs,
    };
    if (!(this.timing.leaseDurationMs > this.timing.renewDeadlineMs && this.timing.renewDeadlineMs > this.timing.retryPeriodMs))
      throw sbError('SB_ERR_FLAG', 'ha-lease-duration', 'leader election needs lease duration > renew deadline > retry period');
    this.now = opts.now ?? (() => performance.now());
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/leases`;
  }

  isLeader(): boolean {
    return this.leader;
  }

  subscribe(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts competing for the Lease. */
  start(): this {
    this.running ??= this.loop();
    return this;
  }

  /** Stops; a leader releases the Lease first. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.close();
    await this.running;
    if (this.leader) {
      await this.release().catch((err: Error) => this.opts.logger.warn({ err: err.message }, 'could not release the lease'));
      this.setLeader(false);
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.opts.logger.debug({ err: (err as Error).message, lease: this.opts.name }, 'lease request failed');
      }
      if (this.stopped) break;
      const t = this.now();
      if (ok) {
        this.lastRenew = t;
        if (!this.leader) {
          this.opts.logger.info({ lease: this.opts.name, identity: this.identity }, 'became leader');
          this.setLeader(true);
        }
      } else if (this.leader && this.observed !== null && this.observed.lease.spec.holderIdentity !== this.identity) {
        this.opts.logger.warn({ lease: this.opts.name, holder: this.observed.lease.spec.holderIdentity }, 'lost leadership (another replica holds the lease)');
        this.setLeader(false);
      } else if (this.leader && t - this.lastRenew >= this.timing.renewDeadlineMs) {
        this.opts.logger.warn({ lease: this.opts.name, identity: this.identity }, 'lost leadership (could not renew in time)');
        this.setLeader(false);
      }
      // Standbys jitter their retries (client-go's factor 1.2) so they do not all call at once.
      const wait = this.leader ? this.timing.retryPeriodMs : this.timing.retryPeriodMs * (1 + Math.random() * 0.2);
      await this.sleeper.sleep(this.leader ? Math.min(wait, this.remainingRenew()) : wait);
    }
  }

  /** Time left before the renew deadline, so a failing leader re-checks in time to step down. */
  private remainingRenew(): number {
    return Math.max(1, this.lastRenew + this.timing.renewDeadlineMs - this.now());
  }

  /** One attempt to take or keep the Lease; true when we hold it afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const nowIso = microTime(new Date());
    const client = this.opts.client;
    const got = await client.send('GET', `${this.path}/${encodeURIComponent(this.opts.name)}`);
    if (got.status === 404) {
      const lease: LeaseObject = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.opts.name, namespace: this.opts.namespace },
        spec: this.spec(nowIso, nowIso, 0),
      };
      const created = await client.send('POST', this.path, undefined, lease);
      if (created.status !== 201 && created.status !== 200) return false;
      this.observe(created.body as LeaseObject);
      return true;
    }
    if (got.status !== 200 || typeof got.body !== 'object' || got.body === null) return false;
    const lease = got.body as LeaseObject;
    lease.spec ??= {};
    this.observe(lease);
    const holder = lease.spec.holderIdentity ?? '';
    const mine = holder === this.identity;
    if (!mine && holder !== '' && this.now() - (this.observed?.at ?? 0) < this.leaseDurationOf(lease)) return false;
    const transitions = (lease.spec.leaseTransitions ?? 0) + (mine ? 0 : 1);
    const acquire = mine && lease.spec.acquireTime !== undefined ? lease.spec.acquireTime : nowIso;
    const updated = await client.send('PUT', `${this.path}/${encodeURIComponent(this.opts.name)}`, undefined, {
      ...lease,
      spec: this.spec(acquire, nowIso, transitions),
    });
    if (updated.status !== 200) return false;
    this.observe(updated.body as LeaseObject);
    return true;
  }

  private async release(): Promise<void> {
    const lease = this.observed?.lease;
    if (lease === undefined || lease.spec.holderIdentity !== this.identity) return;
    const nowIso = microTime(new Date());
    await this.opts.client.send('PUT', `${this.path}/${encodeURIComponent(this.opts.name)}`, undefined, {
      ...lease,
      spec: { leaseDurationSeconds: 1, acquireTime: nowIso, renewTime: nowIso, leaseTransitions: lease.spec.leaseTransitions ?? 0 },
    });
    this.opts.logger.info({ lease: this.opts.name, identity: this.identity }, 'released the lease');
  }

  private spec(acquireTime: string, renewTime: string, leaseTransitions: number): LeaseSpec {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.timing.leaseDurationMs / 1000)),
      acquireTime,
      renewTime,
      leaseTransitions,
    };
  }

  /** The holder's declared duration (what it promised to renew within), else ours. */
  private leaseDurationOf(lease: LeaseObject): number {
    const s = lease.spec.leaseDurationSeconds;
    return typeof s === 'number' && s > 0 ? s * 1000 : this.timing.leaseDurationMs;
  }

  /** Remembers the record and, when it changed, the time we saw it change. */
  private observe(lease: LeaseObject): void {
    if (typeof lease !== 'object' || lease === null) return;
    const s = lease.spec ?? {};
    const record = JSON.stringify([s.holderIdentity, s.renewTime, s.acquireTime, s.leaseTransitions, s.leaseDurationSeconds]);
    if (this.observed === null || this.observed.record !== record) this.observed = { record, at: this.now(), lease };
    else this.observed.lease = lease;
  }

  private setLeader(v: boolean): void {
    if (this.leader === v) return;
    this.leader = v;
    for (const l of this.listeners) l(v);
  }
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
