/**
 * One live-dashboard viewer for the benchmarks' `--dashboard-viewer` option: a server with the
 * dashboard on, and a client that holds `/dashboard/events` open and reads every frame, as a
 * browser tab would. The server side is what the benchmark measures; the client only counts.
 */
import { request } from 'node:http';
import type { Switchboard } from '../../src/switchboard.js';
import { Dashboard } from '../../src/telemetry/dashboard/dashboard.js';
import type { DecisionLog } from '../../src/telemetry/dashboard/decisions.js';
import { startMetricsServer } from '../../src/telemetry/metrics-server.js';

/** Serves `core`'s dashboard on a free loopback port; resolves with the port. */
export async function serveDashboard(core: Switchboard, decisions: DecisionLog, poolName: string): Promise<number> {
  const telemetry = core.telemetry;
  if (telemetry === null) throw new Error('the dashboard needs telemetry');
  const dashboard = new Dashboard({ pools: () => [{ name: poolName, pool: core.pool, telemetry, stalenessMs: 2000 }], decisions, registry: telemetry.registry });
  const server = await startMetricsServer({ registry: telemetry.registry, port: 0, host: '127.0.0.1', dashboard });
  return server.port;
}

/** A connected viewer. */
export interface Viewer {
  frames(): number;
  bytes(): number;
  close(): void;
}

/** Opens `/dashboard/events` on `port` and reads it until close(). */
export function connectViewer(port: number): Promise<Viewer> {
  return new Promise((resolve, reject) => {
    let frames = 0;
    let bytes = 0;
    const req = request({ host: '127.0.0.1', port, path: '/dashboard/events' }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`dashboard events: HTTP ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        bytes += d.length;
        for (let i = d.indexOf('event: snapshot'); i >= 0; i = d.indexOf('event: snapshot', i + 1)) frames++;
      });
      res.on('error', () => {});
      resolve({ frames: () => frames, bytes: () => bytes, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}
