/**
 * Server-sent events for the live dashboard. One timer, running only while at least one viewer
 * is connected, builds one snapshot per tick, serializes it once and writes the same bytes to
 * every viewer. With no viewer nothing runs at all.
 *
 * Each frame is a complete picture, so a viewer that cannot keep up loses frames, not
 * correctness: a frame is skipped for a viewer whose socket still holds more than
 * `maxBufferedBytes` unsent, and a viewer that skipped `maxSkippedFrames` in a row is
 * disconnected (its EventSource reconnects when it can). Viewers beyond `maxViewers` get 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';

/** Settings of the stream. */
export interface DashboardStreamOptions {
  /** Builds the next frame's payload. */
  build(): Promise<unknown>;
  /** Payload sent once to a new viewer before its first frame (the recent decisions). */
  hello(): unknown;
  /** Called with true when the first viewer connects and false when the last leaves. */
  onActive?(active: boolean): void;
  /** Between frames, ms (default 1000). */
  intervalMs?: number;
  /** Viewers at once (default 8). */
  maxViewers?: number;
  /** Unsent bytes above which a viewer's frame is skipped (default 256 KiB). */
  maxBufferedBytes?: number;
  /** Skipped frames in a row after which a viewer is disconnected (default 10). */
  maxSkippedFrames?: number;
  /** Metrics go here when given. */
  registry?: Registry | null;
}

interface Viewer {
  res: ServerResponse;
  skipped: number;
}

const VIEWERS_METRIC = 'switchboard_dashboard_viewers';
const REFUSED_METRIC = 'switchboard_dashboard_viewers_refused_total';
const SKIPPED_METRIC = 'switchboard_dashboard_frames_skipped_total';
const DROPPED_METRIC = 'switchboard_dashboard_viewers_dropped_total';

export class DashboardStream {
  private readonly viewers = new Set<Viewer>();
  private timer: NodeJS.Timeout | null = null;
  private building = false;
  /** The latest frame, for a viewer joining a running stream. */
  private lastFrame: string | null = null;
  private seq = 0;
  private closed = false;
  private readonly intervalMs: number;
  private readonly maxViewers: number;
  private readonly maxBuffered: number;
  private readonly maxSkipped: number;
  private readonly refused: Counter | null;
  private readonly skippedFrames: Counter | null;
  private readonly dropped: Counter | null;

  constructor(private readonly opts: DashboardStreamOptions) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.maxViewers = opts.maxViewers ?? 8;
    this.maxBuffered = opts.maxBufferedBytes ?? 256 * 1024;
    this.maxSkipped = opts.maxSkippedFrames ?? 10;
    const r = opts.registry ?? null;
    const self = this;
    const metric = <T>(name: string, make: () => T): T | null => (r === null ? null : ((r.getSingleMetric(name) as T | undefined) ?? make()));
    metric(VIEWERS_METRIC, () =>
      new Gauge({
        name: VIEWERS_METRIC,
        help: 'Live dashboard viewers connected now.',
        registers: [r as Registry],
        collect() {
          this.set(self.viewers.size);
        },
      }),
    );
    this.refused = metric(REFUSED_METRIC, () => new Counter({ name: REFUSED_METRIC, help: 'Dashboard viewers refused because --dashboard-max-viewers were connected.', registers: [r as Registry] }));
    this.skippedFrames = metric(
      SKIPPED_METRIC,
      () => new Counter({ name: SKIPPED_METRIC, help: 'Dashboard frames not sent to a viewer whose connection had not taken the previous ones.', registers: [r as Registry] }),
    );
    this.dropped = metric(DROPPED_METRIC, () => new Counter({ name: DROPPED_METRIC, help: 'Dashboard viewers disconnected for falling behind.', registers: [r as Registry] }));
  }

  /** Viewers connected now. */
  get size(): number {
    return this.viewers.size;
  }

  /** Serves one viewer: an SSE response that lasts until the client or close() ends it. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    if (this.closed || this.viewers.size >= this.maxViewers) {
      this.refused?.inc();
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end(`dashboard: ${this.maxViewers} viewers already connected\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    req.socket.setNoDelay(true);
    // No idle or request timeout on a stream meant to stay open; a dead peer is found by writes.
    req.socket.setTimeout(0);
    const v: Viewer = { res, skipped: 0 };
    this.viewers.add(v);
    const leave = () => {
      if (!this.viewers.delete(v)) return;
      if (this.viewers.size === 0) this.stop();
    };
    res.on('close', leave);
    res.on('error', leave);
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify(this.opts.hello())}\n\n`);
    if (this.viewers.size === 1) this.start();
    else if (this.lastFrame !== null) this.send(v, this.lastFrame);
  }

  /** Ends every viewer and stops the timer. */
  close(): void {
    this.closed = true;
    for (const v of this.viewers) v.res.end();
    this.viewers.clear();
    this.stop();
  }

  private start(): void {
    this.opts.onActive?.(true);
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    this.lastFrame = null;
    this.opts.onActive?.(false);
  }

  /** Builds a frame and sends it to every viewer. */
  private async tick(): Promise<void> {
    if (this.building) return;
    this.building = true;
    let frame: string;
    try {
      frame = `id: ${++this.seq}\nevent: snapshot\ndata: ${JSON.stringify(await this.opts.build())}\n\n`;
    } catch (err) {
      frame = `event: failure\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`;
    } finally {
      this.building = false;
    }
    if (this.timer === null) return; // the last viewer left meanwhile
    this.lastFrame = frame;
    for (const v of this.viewers) this.send(v, frame);
  }

  private send(v: Viewer, frame: string): void {
    const res = v.res;
    if (res.destroyed || res.writableEnded) return;
    if (res.writableLength > this.maxBuffered) {
      this.skippedFrames?.inc();
      if (++v.skipped >= this.maxSkipped) {
        this.dropped?.inc();
        res.destroy();
      }
      return;
    }
    v.skipped = 0;
    res.write(frame);
  }
}
