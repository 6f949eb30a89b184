/**
 * The dashboard's event stream over real HTTP: nothing is built while no one watches, frames go
 * to every viewer, viewers beyond the cap get 503, a viewer that stops reading loses frames and
 * is then disconnected without holding anyone else up, and a viewer that leaves stops the work.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DashboardStream } from '../../../src/telemetry/dashboard/stream.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A stream behind a real HTTP server; counts the frames it built. */
async function serve(opts: Partial<ConstructorParameters<typeof DashboardStream>[0]> = {}) {
  const state = { builds: 0, active: [] as boolean[], payload: 'x' };
  const registry = new Registry();
  const stream = new DashboardStream({
    build: async () => ({ n: ++state.builds, payload: state.payload }),
    hello: () => ({ decisions: [] }),
    onActive: (a) => state.active.push(a),
    intervalMs: 20,
    registry,
    ...opts,
  });
  const server: Server = createServer((req, res) => stream.attach(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        stream.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { stream, port, state, registry };
}

/** Opens the stream; collects parsed `snapshot` frames. */
function connect(port: number): Promise<{ res: IncomingMessage; frames: Array<{ n: number }>; text: () => string; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      const frames: Array<{ n: number }> = [];
      let buf = '';
      let all = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        all += d;
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (block.includes('event: snapshot')) frames.push(JSON.parse(block.slice(block.indexOf('data: ') + 6)) as { n: number });
        }
      });
      res.on('error', () => {});
      resolve({ res, frames, text: () => all, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard event stream', () => {
  it('builds nothing without viewers, sends frames to every viewer, and stops when the last leaves', async () => {
    const { stream, port, state } = await serve();
    await new Promise((r) => setTimeout(r, 100));
    expect(state.builds).toBe(0);
    const a = await connect(port);
    expect(a.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const b = await connect(port);
    await vi.waitFor(() => expect(b.frames.length).toBeGreaterThanOrEqual(3), { timeout: 5000 });
    expect(a.text()).toMatch(/^retry: 2000\nevent: hello\ndata: \{"decisions":\[\]\}\n\n/);
    // One build per tick, shared: both viewers saw the same frame numbers.
    const common = b.frames.map((f) => f.n).filter((n) => a.frames.some((f) => f.n === n));
    expect(common.length).toBeGreaterThanOrEqual(2);
    expect(stream.size).toBe(2);
    a.close();
    b.close();
    await vi.waitFor(() => expect(stream.size).toBe(0), { timeout: 5000 });
    expect(state.active).toEqual([true, false]);
    const built = state.builds;
    await new Promise((r) => setTimeout(r, 100));
    expect(state.builds).toBe(built);
  });

  it('refuses viewers beyond the cap with 503 and counts them', async () => {
    const { port, registry } = await serve({ maxViewers: 2 });
    const a = await connect(port);
    const b = await connect(port);
    const c = await connect(port);
    expect([a.res.statusCode, b.res.statusCode, c.res.statusCode]).toEqual([200, 200, 503]);
    expect(c.res.headers['retry-after']).toBe('5');
    expect(await registry.getSingleMetricAsString('switchboard_dashboard_viewers_refused_total')).toContain('switchboard_dashboard_viewers_refused_total 1');
    expect(await registry.getSingleMetricAsString('switchboard_dashboard_viewers')).toContain('switchboard_dashboard_viewers 2');
    a.close();
    b.close();
  });

  it('skips frames for a viewer that stops reading, then drops it, while a reading viewer keeps getting every frame', async () => {
    const { stream, port, state, registry } = await serve({ maxBufferedBytes: 64 * 1024, maxSkippedFrames: 3 });
    // Large frames fill the slow viewer's socket buffers quickly.
    state.payload = 'y'.repeat(256 * 1024);
    const slow = await connect(port);
    slow.res.pause();
    const fast = await connect(port);
    await vi.waitFor(() => expect(stream.size).toBe(1), { timeout: 10_000 });
    const seen = fast.frames.length;
    await vi.waitFor(() => expect(fast.frames.length).toBeGreaterThan(seen + 3), { timeout: 10_000 });
    expect(await registry.getSingleMetricAsString('switchboard_dashboard_viewers_dropped_total')).toContain('switchboard_dashboard_viewers_dropped_total 1');
    expect(await registry.getSingleMetricAsString('switchboard_dashboard_frames_skipped_total')).toMatch(/switchboard_dashboard_frames_skipped_total [3-9]/);
    fast.close();
    slow.close();
  });

  it('reports a failed build to viewers and keeps going', async () => {
    let fail = true;
    const { port } = await serve({
      build: async () => {
        if (fail) {
          fail = false;
          throw new Error('pool went away');
        }
        return { n: 1 };
      },
    });
    const v = await connect(port);
    await vi.waitFor(() => expect(v.frames.length).toBeGreaterThanOrEqual(1), { timeout: 5000 });
    expect(v.text()).toContain('event: failure\ndata: {"message":"pool went away"}');
    v.close();
  });
});
