/**
 * Settings of the proxy front door, with their defaults. `flags.ts` maps CLI flags onto them;
 * `startProxyServer` takes them directly.
 */

/** Upstream timeouts, in milliseconds (0 disables one). */
export interface ProxyTimeouts {
  /** TCP connect to a pod. */
  connectMs: number;
  /** From the request being written to the pod's response headers (time to first byte). */
  firstByteMs: number;
  /** Longest silence between two chunks of a response body (streams included). */
  idleStreamMs: number;
}

/** Keep-alive connection pools, one per pod. */
export interface ProxyPoolLimits {
  /** Most open connections to one pod; requests beyond it wait in the pool's queue. */
  connectionsPerEndpoint: number;
  /** How long an idle keep-alive connection to a pod stays open. */
  keepAliveMs: number;
}

/** Retries of requests whose response has not started. */
export interface ProxyRetries {
  /** Extra attempts after the first (0 disables retries). */
  max: number;
  /** When the decision's fallback endpoints are used up, ask the director for another pick. */
  repick: boolean;
}

/** What is read and thrown away of a body refused while it arrives, before the connection closes. */
export interface ProxyLingeringClose {
  /** Body bytes discarded after the refusal at most. */
  maxBytes: number;
  /** Longest the connection stays open after the refusal (ms). */
  timeMs: number;
}

/** Everything tunable about the proxy, resolved. */
export interface ProxySettings {
  /** Largest accepted request body in bytes; larger ones get 413. */
  maxBodyBytes: number;
  /** Most request-body bytes held by all requests together; beyond it 503 (0: no limit). */
  maxBufferedBytes: number;
  /**
   * After a 413 or 503 answered while the body still arrives, the rest is read and dropped up to
   * these bounds, so a client still writing reads the answer instead of a reset connection.
   */
  lingeringClose: ProxyLingeringClose;
  timeouts: ProxyTimeouts;
  pool: ProxyPoolLimits;
  retries: ProxyRetries;
  /** How often /v1/models is refreshed from the pods (ms). */
  modelsRefreshMs: number;
  /** How long `drain()` waits for in-flight requests before closing anyway (ms). */
  drainTimeoutMs: number;
}

/** Defaults; chosen for vLLM pods on a cluster network. */
export const DEFAULT_PROXY_SETTINGS: ProxySettings = {
  maxBodyBytes: 16 * 1024 * 1024,
  maxBufferedBytes: 512 * 1024 * 1024,
  // Four default-limit bodies; 10 s moves 64 MiB at ~50 Mbit/s (nginx lingers up to 30 s).
  lingeringClose: { maxBytes: 64 * 1024 * 1024, timeMs: 10_000 },
  timeouts: { connectMs: 5_000, firstByteMs: 300_000, idleStreamMs: 300_000 },
  pool: { connectionsPerEndpoint: 1024, keepAliveMs: 60_000 },
  retries: { max: 2, repick: true },
  modelsRefreshMs: 15_000,
  drainTimeoutMs: 30_000,
};

/** A partial override of the settings, as callers and flags give it. */
export interface ProxySettingsInput {
  maxBodyBytes?: number;
  maxBufferedBytes?: number;
  lingeringClose?: Partial<ProxyLingeringClose>;
  timeouts?: Partial<ProxyTimeouts>;
  pool?: Partial<ProxyPoolLimits>;
  retries?: Partial<ProxyRetries>;
  modelsRefreshMs?: number;
  drainTimeoutMs?: number;
}

/** Merges `input` over the defaults. */
export function resolveProxySettings(input: ProxySettingsInput = {}): ProxySettings {
  const d = DEFAULT_PROXY_SETTINGS;
  return {
    maxBodyBytes: input.maxBodyBytes ?? d.maxBodyBytes,
    maxBufferedBytes: input.maxBufferedBytes ?? d.maxBufferedBytes,
    lingeringClose: { ...d.lingeringClose, ...input.lingeringClose },
    timeouts: { ...d.timeouts, ...input.timeouts },
    pool: { ...d.pool, ...input.pool },
    retries: { ...d.retries, ...input.retries },
    modelsRefreshMs: input.modelsRefreshMs ?? d.modelsRefreshMs,
    drainTimeoutMs: input.drainTimeoutMs ?? d.drainTimeoutMs,
  };
}
