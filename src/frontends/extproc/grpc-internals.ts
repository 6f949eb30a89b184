/**
 * The few places where the ext_proc server reaches below grpc-js' public API, all in one file.
 * Each reads grpc-js' private fields defensively: should a release change them, the function
 * does nothing, and the test that pins its behaviour (test/hostile/extproc-frames.test.ts,
 * test/faults/) fails instead of production.
 *
 * Why they exist: Envoy ends every ext_proc stream with RST_STREAM, and nghttp2's Rapid Reset
 * defence (CVE-2023-44487) closes a server connection that receives more than 1,000 resets plus
 * 33 per second. A gateway above ~33 requests/s per connection would lose its connection, and
 * every request on it, every half minute or so. And grpc-js' forceShutdown() forgets sessions
 * when channelz is off, so a forced stop left streams open.
 */
import type { Http2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/** The HTTP/2 servers grpc-js created for `server`'s bound ports, with their sessions. */
function http2Servers(server: Server): Array<{ sessions: Set<Http2Session> }> {
  const map = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(map instanceof Map)) return [];
  const out: Array<{ sessions: Set<Http2Session> }> = [];
  for (const info of (map as Map<unknown, { sessions?: unknown }>).values()) {
    if (info?.sessions instanceof Set) out.push({ sessions: info.sessions as Set<Http2Session> });
  }
  return out;
}

/** grpc-js `forceShutdown()`, plus destroying the sessions it does not track with channelz off. */
export function forceShutdown(server: Server): void {
  for (const { sessions } of http2Servers(server)) for (const s of sessions) s.destroy();
  server.forceShutdown();
}

/**
 * Raises nghttp2's stream-reset limit on connections bound after this call (Node 22.10+ reads
 * `streamResetRate`/`streamResetBurst`; older Node ignores them, `ResetRecycler` covers it).
 */
export function allowStreamResets(server: Server, perSecond: number): void {
  if (perSecond <= 0) return;
  const options = (server as unknown as { commonServerOptions?: unknown }).commonServerOptions;
  if (typeof options !== 'object' || options === null) return;
  Object.assign(options, { streamResetRate: perSecond, streamResetBurst: Math.max(1000, perSecond * 2) });
}

/**
 * Counts streams that gateways reset, per connection (`peer` is grpc-js' `getPeer()`,
 * `address:port`), and after `maxResets` on one connection closes it gracefully: GOAWAY, open
 * streams finish, the gateway opens a new connection. nghttp2 stops counting resets once the
 * server has sent GOAWAY, so its limit is never reached. Envoy resets with NO_ERROR, which the
 * HTTP/2 layer cannot tell from a normal close; grpc-js can (the stream closed before a status).
 */
/** GOAWAY(NO_ERROR) with the largest stream id: "open no new streams here". */
const SHUTDOWN_NOTICE_STREAM_ID = 2 ** 31 - 1;
/** Time for streams the gateway opened before it saw the notice to arrive. */
const NOTICE_GRACE_MS = 1000;

/**
 * Two-phase graceful close (RFC 9113 §6.8): a first GOAWAY lets every stream already on its way
 * in be served; only a second later does the session close with the real last stream id. A
 * single GOAWAY would refuse streams the gateway had just opened, failing their requests.
 */
function drain(session: Http2Session): void {
  session.goaway(0, SHUTDOWN_NOTICE_STREAM_ID);
  setTimeout(() => {
    if (!session.closed && !session.destroyed) drain(session);
  }, NOTICE_GRACE_MS).unref();
}

export class ResetRecycler {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly server: Server,
    private readonly maxResets: number,
  ) {}

  /** A stream of the connection `peer` was reset by the gateway. */
  reset(peer: string): void {
    if (this.maxResets <= 0 || peer === '' || peer === 'unknown') return;
    const n = (this.counts.get(peer) ?? 0) + 1;
    if (n < this.maxResets) {
      // Connections that close before the limit leave an entry; bound the map.
      if (this.counts.size >= 4096 && !this.counts.has(peer)) this.counts.clear();
      this.counts.set(peer, n);
      return;
    }
    this.counts.delete(peer);
    for (const { sessions } of http2Servers(this.server)) {
      for (const session of sessions) {
        const socket = session.socket;
        if (socket !== undefined && `${socket.remoteAddress}:${socket.remotePort}` === peer && !session.closed && !session.destroyed) drain(session);
      }
    }
  }
}
