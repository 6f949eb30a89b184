/**
 * Memory and handle figures of a Switchboard process, read from its own Prometheus page
 * (prom-client's default process metrics), optionally right after a forced full GC.
 */
import type { ChildProcess } from 'node:child_process';
import { request } from 'undici';

/** One reading. */
export interface ProcessSample {
  /** Seconds since the benchmark started. */
  t: number;
  heapUsedBytes: number;
  rssBytes: number;
  /** libuv handles (sockets, timers, servers) the process holds. */
  handles: number;
  /** Async resources the process holds (Node's getActiveResourcesInfo). */
  resources: number;
}

/** Sum of the samples of `name` on a Prometheus page (0 when absent). */
export function promValue(page: string, name: string): number {
  let total = 0;
  for (const line of page.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) total += v;
  }
  return total;
}

/** The page of `http://127.0.0.1:port/metrics`. */
export async function metricsPage(port: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}/metrics`);
  return res.body.text();
}

/** Reads the figures; with `gc`, first asks the process (gc-on-signal.ts) for a full GC. */
export async function sampleProcess(child: ChildProcess, metricsPort: number, t0: number, gc = false): Promise<ProcessSample> {
  if (gc) {
    child.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 400));
  }
  const page = await metricsPage(metricsPort);
  return {
    t: (performance.now() - t0) / 1000,
    heapUsedBytes: promValue(page, 'nodejs_heap_size_used_bytes'),
    rssBytes: promValue(page, 'process_resident_memory_bytes'),
    handles: promValue(page, 'nodejs_active_handles_total'),
    resources: promValue(page, 'nodejs_active_resources_total'),
  };
}
