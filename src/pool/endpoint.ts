/**
 * An endpoint is one model-server port (a pod with several target ports is several endpoints),
 * plus the latest metrics snapshot its scrape loop produced.
 */

import type { SignalValues } from './signals.js';

/** Label that names the serving engine of an endpoint (vllm, sglang, trtllm-serve, ...). */
export const ENGINE_TYPE_LABEL = 'inference.networking.k8s.io/engine-type';

/** What discovery knows about an endpoint before any scrape. */
export interface EndpointSpec {
  /** Stable name, e.g. `<pod>-rank-<i>`; defaults to `address:port`. */
  name?: string;
  /** IPv4/IPv6 address or host name. */
  address: string;
  /** Port that serves inference (and, unless `metricsPort` is set, /metrics). */
  port: number;
  /** Pod labels, including the engine-type label. */
  labels?: Readonly<Record<string, string>>;
  /** Port that serves /metrics when it differs from `port`. */
  metricsPort?: number;
  /** Port of the endpoint's KV-events publisher and replay socket, when its pod says (annotation). */
  kvEventsPort?: number;
  kvEventsReplayPort?: number;
}

/** The model-server state that scheduling reads, from one successful scrape. */
export interface MetricsSnapshot {
  /** Requests waiting in the engine queue. */
  waitingQueueSize: number;
  /** Requests the engine is running. */
  runningRequests: number;
  /** KV-cache utilization as a fraction 0..1. */
  kvCacheUsage: number;
  /** LoRA adapters loaded and serving. */
  activeAdapters: ReadonlySet<string>;
  /** LoRA adapters requested but waiting for a slot. */
  waitingAdapters: ReadonlySet<string>;
  /** Maximum adapters in one batch (`max_lora`); 0 when unknown or LoRA is off. */
  maxAdapters: number;
  /** KV block size in tokens; 0 when unknown. */
  cacheBlockSize: number;
  /** Number of KV blocks on the device; 0 when unknown. */
  cacheNumBlocks: number;
  /** Declared signals the engine reported (see signals.ts); absent when none. */
  signals?: SignalValues;
  /** Base model the engine serves (the `model_name` label of its running-requests metric); absent when not reported. */
  servedModel?: string;
}

/** Health of an endpoint's scrape loop. */
export interface ScrapeHealth {
  /** Whether the latest scrape succeeded. */
  ok: boolean;
  /** Failures in a row since the last success. */
  consecutiveFailures: number;
  /** Message of the latest failure, or null. */
  lastError: string | null;
  /** Clock time (ms) of the latest successful scrape, or -Infinity if none yet. */
  lastSuccessAt: number;
}

export const EMPTY_SET: ReadonlySet<string> = new Set<string>();

/** Formats `address:port`, bracketing IPv6 addresses. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** One model-server port known to the pool. */
export class Endpoint {
  /** `address:port`, the identity used in routing headers. */
  readonly key: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly metricsPort: number;
  readonly labels: Readonly<Record<string, string>>;
  /** KV-events ports from discovery, or null for the configured default. */
  readonly kvEventsPort: number | null;
  readonly kvEventsReplayPort: number | null;
  /** Slot in the pool's column arrays; stable while the endpoint is in the pool. */
  slot: number;
  /** Latest successful metrics, or null before the first scrape. */
  metrics: MetricsSnapshot | null;
  readonly health: ScrapeHealth;

  constructor(spec: EndpointSpec, slot: number) {
    this.address = spec.address;
    this.port = spec.port;
    this.key = hostPort(spec.address, spec.port);
    this.name = spec.name ?? this.key;
    this.metricsPort = spec.metricsPort ?? spec.port;
    this.labels = spec.labels ?? {};
    this.kvEventsPort = spec.kvEventsPort ?? null;
    this.kvEventsReplayPort = spec.kvEventsReplayPort ?? null;
    this.slot = slot;
    this.metrics = null;
    this.health = { ok: false, consecutiveFailures: 0, lastError: null, lastSuccessAt: -Infinity };
  }

  /** The engine type from the endpoint's labels, or null. */
  engineType(labelKey: string = ENGINE_TYPE_LABEL): string | null {
    return this.labels[labelKey] ?? null;
  }
}
