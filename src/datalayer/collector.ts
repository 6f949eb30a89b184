/**
 * Metrics collection: one scrape loop per endpoint, started and stopped with pool membership.
 *
 * Each loop fetches /metrics over a shared undici Agent, never overlaps itself (the next scrape
 * is scheduled when the previous one settles), bounds the page size and the total time of a
 * scrape (a page that never ends is cut off), and backs off exponentially while an endpoint
 * keeps failing. All of it runs off the request path: scheduling only reads the pool's columns.
 */
import { Agent } from 'undici';
import type { Endpoint } from '../pool/endpoint.js';
import type { EndpointPool } from '../pool/pool.js';
import type { EngineRegistry } from './engines.js';
import { extractMetrics } from './extract.js';

/** Scrape settings (`metrics-data-source` parameters plus flags). */
export interface CollectorOptions {
  /** Interval between scrapes of one endpoint, ms (`--refresh-metrics-interval`, default 50). */
  intervalMs: number;
  /** Deadline for one whole scrape (connect, headers and body), ms. */
  timeoutMs: number;
  /** Largest page accepted, bytes. */
  maxPageBytes: number;
  /** Ceiling of the failure backoff, ms. */
  maxBackoffMs: number;
  /** `http` or `https`. */
  scheme: 'http' | 'https';
  /** Path of the metrics page. */
  path: string;
  /** Skip TLS verification for https scrapes (model servers usually have self-signed certs). */
  insecureSkipVerify: boolean;
}

export const DEFAULT_COLLECTOR_OPTIONS: CollectorOptions = {
  intervalMs: 50,
  timeoutMs: 1000,
  maxPageBytes: 4 * 1024 * 1024,
  maxBackoffMs: 5000,
  scheme: 'http',
  path: '/metrics',
  insecureSkipVerify: true,
};

/** Outcome classes of one scrape, used as a metric label. */
export type ScrapeOutcome = 'success' | 'http_error' | 'timeout' | 'too_large' | 'truncated' | 'connect_error' | 'parse_error';

/** Receives every scrape's outcome (telemetry). */
export type ScrapeObserver = (ep: Endpoint, outcome: ScrapeOutcome, durationMs: number, error: string | null) => void;

/** Runs the scrape loops for every endpoint in a pool. */
export class MetricsCollector {
  private readonly opts: CollectorOptions;
  private readonly agent: Agent;
  private readonly loops = new Map<Endpoint, ScrapeLoop>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly pool: EndpointPool,
    private readonly engines: EngineRegistry,
    opts: Partial<CollectorOptions> = {},
    private readonly observer: ScrapeObserver | null = null,
  ) {
    this.opts = { ...DEFAULT_COLLECTOR_OPTIONS, ...opts };
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: 2,
      connect: { rejectUnauthorized: !this.opts.insecureSkipVerify, timeout: this.opts.timeoutMs },
    });
  }

  /** Starts loops for current endpoints and follows membership changes. */
  start(): void {
    if (this.unsubscribe !== null) return;
    for (const ep of this.pool.endpoints()) this.add(ep);
    this.unsubscribe = this.pool.subscribe((e) => {
      if (e.type === 'added') this.add(e.endpoint);
      else if (e.type === 'removed') this.drop(e.endpoint);
      else {
        this.drop(e.previous);
        this.add(e.endpoint);
      }
    });
  }

  /** Stops every loop and closes connections. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const ep of [...this.loops.keys()]) this.drop(ep);
    await this.agent.close();
  }

  /** Scrapes one endpoint now, outside its loop (tests, readiness probes). */
  scrapeOnce(ep: Endpoint): Promise<void> {
    return new ScrapeLoop(this, ep).runOnce();
  }

  private add(ep: Endpoint): void {
    if (this.loops.has(ep)) return;
    const loop = new ScrapeLoop(this, ep);
    this.loops.set(ep, loop);
    loop.schedule(0);
  }

  private drop(ep: Endpoint): void {
    this.loops.get(ep)?.stop();
    this.loops.delete(ep);
  }

  /** @internal */ get options(): CollectorOptions {
    return this.opts;
  }

  /** @internal */ fetchPage(ep: Endpoint, signal: AbortSignal): Promise<string> {
    return fetchPage(this.agent, this.opts, ep, signal);
  }

  /** @internal */ record(ep: Endpoint, outcome: ScrapeOutcome, durationMs: number, text: string | null, error: string | null): void {
    if (text !== null) {
      const engine = this.engines.resolve(ep.engineType(this.engines.engineLabelKey));
      const r = extractMetrics(text, engine);
      if (r.ok) this.pool.recordMetrics(ep, r.metrics);
      else {
        outcome = 'parse_error';
        error = r.error;
      }
    }
    if (outcome !== 'success') this.pool.recordScrapeFailure(ep, error ?? outcome);
    this.observer?.(ep, outcome, durationMs, error);
  }

  /** @internal */ started(ep: Endpoint): void {
    this.pool.scrapeStarted(ep);
  }
}

class ScrapeLoop {
  private timer: NodeJS.Timeout | null = null;
  private abort: AbortController | null = null;
  private stopped = false;

  constructor(
    private readonly owner: MetricsCollector,
    private readonly ep: Endpoint,
  ) {}

  schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce().then(() => this.schedule(this.nextDelay()));
    }, delayMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.abort?.abort();
  }

  async runOnce(): Promise<void> {
    const opts = this.owner.options;
    const ac = new AbortController();
    this.abort = ac;
    const deadline = setTimeout(() => ac.abort(new ScrapeTimeout()), opts.timeoutMs);
    const t0 = performance.now();
    this.owner.started(this.ep);
    try {
      const text = await this.owner.fetchPage(this.ep, ac.signal);
      if (this.stopped) return;
      this.owner.record(this.ep, 'success', performance.now() - t0, text, null);
    } catch (err) {
      if (this.stopped) return;
      const [outcome, message] = classifyError(err, ac.signal);
      this.owner.record(this.ep, outcome, performance.now() - t0, null, message);
    } finally {
      clearTimeout(deadline);
      this.abort = null;
    }
  }

  private nextDelay(): number {
    const { intervalMs, maxBackoffMs } = this.owner.options;
    const failures = this.ep.health.consecutiveFailures;
    if (failures === 0) return intervalMs;
    // Exponential backoff from the interval, capped; a failing pod should not be hammered.
    return Math.min(maxBackoffMs, intervalMs * 2 ** Math.min(failures, 16));
  }
}

class ScrapeTimeout extends Error {
  constructor() {
    super('scrape timed out');
  }
}

class PageTooLarge extends Error {}

class HttpStatusError extends Error {}

/** The connection broke while the page was being read. */
class TruncatedPage extends Error {}

async function fetchPage(agent: Agent, opts: CollectorOptions, ep: Endpoint, signal: AbortSignal): Promise<string> {
  const host = ep.address.includes(':') ? `[${ep.address}]` : ep.address;
  const res = await agent.request({
    origin: `${opts.scheme}://${host}:${ep.metricsPort}`,
    path: opts.path,
    method: 'GET',
    headers: { accept: 'text/plain;version=0.0.4' },
    signal,
  });
  // An abort after we stop reading must not surface as an unhandled stream error.
  res.body.on('error', () => {});
  if (res.statusCode !== 200) {
    res.body.destroy();
    throw new HttpStatusError(`metrics page answered HTTP ${res.statusCode}`);
  }
  const declared = Number(res.headers['content-length']);
  if (declared > opts.maxPageBytes) {
    res.body.destroy();
    throw new PageTooLarge(`metrics page of ${declared} bytes exceeds ${opts.maxPageBytes}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > opts.maxPageBytes) {
        res.body.destroy();
        throw new PageTooLarge(`metrics page exceeds ${opts.maxPageBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof PageTooLarge || signal.aborted) throw err;
    throw new TruncatedPage(`metrics page broke off after ${size} bytes: ${(err as Error).message}`);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function classifyError(err: unknown, signal: AbortSignal): [ScrapeOutcome, string] {
  if (signal.aborted && signal.reason instanceof ScrapeTimeout) return ['timeout', 'scrape timed out'];
  if (err instanceof PageTooLarge) return ['too_large', err.message];
  if (err instanceof HttpStatusError) return ['http_error', err.message];
  if (err instanceof TruncatedPage) return ['truncated', err.message];
  const e = err as { code?: string; message?: string };
  if (e.code === 'UND_ERR_CONNECT_TIMEOUT' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT')
    return ['timeout', e.message ?? 'timeout'];
  return ['connect_error', `${e.code ?? 'error'}: ${e.message ?? String(err)}`];
}
