/**
 * The live dashboard on the metrics port (`--enable-dashboard`): `GET /dashboard` is the page,
 * `GET /dashboard/events` its server-sent events. Both sit behind the metrics port's check. While
 * no one watches, nothing runs: no timer, no snapshot, and the director explains no decision.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { DecisionLog } from './decisions.js';
import { DashboardFeed, type DashboardPool } from './feed.js';
import { dashboardPage } from './page.js';
import { DashboardStream } from './stream.js';

/** Paths the dashboard answers. */
export const DASHBOARD_PATHS: ReadonlySet<string> = new Set(['/dashboard', '/dashboard/', '/dashboard/events']);

/** Settings of the dashboard. */
export interface DashboardOptions {
  /** The pools shown, asked on every frame (pools may come and go). */
  pools: () => readonly DashboardPool[];
  /** Viewers at once (`--dashboard-max-viewers`, default 8). */
  maxViewers?: number;
  /** Between frames, ms (default 1000). */
  intervalMs?: number;
  /** Explained decisions per frame while someone watches (default 5). */
  decisionsPerFrame?: number;
  /** Decisions kept and shown (default 20). */
  decisionsKept?: number;
  /** The log the director samples into, when it was made before the dashboard (the core is built first). */
  decisions?: DecisionLog;
  /** Unsent bytes per viewer above which frames are skipped (default 256 KiB). */
  maxBufferedBytes?: number;
  registry?: Registry | null;
}

export class Dashboard {
  /** Give this to the director (`decisions` option): it samples decisions only while someone watches. */
  readonly decisions: DecisionLog;
  private readonly feed: DashboardFeed;
  private readonly stream: DashboardStream;

  constructor(opts: DashboardOptions) {
    const perFrame = opts.decisionsPerFrame ?? 5;
    this.decisions = opts.decisions ?? new DecisionLog(opts.decisionsKept ?? 20);
    this.feed = new DashboardFeed(opts.pools, this.decisions);
    this.stream = new DashboardStream({
      build: async () => {
        const snap = await this.feed.snapshot();
        // The next second's explanation budget, unless the last viewer left while this was built.
        if (this.stream.size > 0) this.decisions.allow(perFrame);
        return snap;
      },
      hello: () => ({ decisions: this.feed.recentDecisions() }),
      onActive: (active) => this.decisions.allow(active ? perFrame : 0),
      intervalMs: opts.intervalMs,
      maxViewers: opts.maxViewers,
      maxBufferedBytes: opts.maxBufferedBytes,
      registry: opts.registry,
    });
  }

  /** Viewers connected now. */
  get viewers(): number {
    return this.stream.size;
  }

  /** Answers a GET of one of DASHBOARD_PATHS (the caller checked access). */
  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (path === '/dashboard/events') {
      this.stream.attach(req, res);
      return;
    }
    const page = dashboardPage();
    res.writeHead(200, page.headers).end(page.body);
  }

  /** Disconnects every viewer. */
  close(): void {
    this.stream.close();
  }
}
