/**
 * The sockets of one endpoint's KV events: a SUB socket on the publisher (reconnect with
 * exponential backoff, a size cap per message) and, when the endpoint has a replay port, a
 * short-lived DEALER on its ROUTER for each replay.
 *
 * Frames: live `[topic, seq (8 bytes BE), payload]`. Replay replies, after the DEALER's empty
 * delimiter, are `[seq, payload]` with end marker `[FF×8, ""]` before vllm#45177 and
 * `[topic, seq, payload]` with `["", FF×8, ""]` after it (v0.26.0 on): both are read.
 */
import { Dealer, Subscriber } from 'zeromq';
import { decodeSeq, encodeSeq, END_OF_REPLAY } from './decode.js';
import type { EventStream } from './event-stream.js';

export interface ZmqSubscriberOptions {
  /** `tcp://host:port` of the publisher. */
  endpoint: string;
  /** `tcp://host:port` of the replay ROUTER, or null. */
  replayEndpoint: string | null;
  /** Topic prefix to subscribe to ('' = everything; vLLM's default topic is ''). */
  topic: string;
  /** Largest message accepted, bytes; larger ones are dropped by ZMQ itself. */
  maxMessageBytes: number;
  /** Replay: idle time without a reply, and total time, before giving up. */
  replayIdleMs: number;
  replayTotalMs: number;
  reconnectMs: number;
  reconnectMaxMs: number;
}

export const DEFAULT_ZMQ_OPTIONS = {
  topic: '',
  maxMessageBytes: 64 * 1024 * 1024,
  replayIdleMs: 2000,
  replayTotalMs: 30_000,
  reconnectMs: 100,
  reconnectMaxMs: 5000,
} as const;

/** `tcp://` address of `host:port` (IPv6 in brackets). */
export function tcpAddress(host: string, port: number): string {
  return host.includes(':') ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;
}

export class ZmqEventSubscriber {
  private readonly sub: Subscriber;
  private closed = false;
  private dealer: Dealer | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly o: ZmqSubscriberOptions,
    private readonly stream: EventStream,
  ) {
    this.sub = new Subscriber({
      reconnectInterval: o.reconnectMs,
      reconnectMaxInterval: o.reconnectMaxMs,
      maxMessageSize: o.maxMessageBytes,
      linger: 0,
    });
  }

  /** Connects and starts receiving. */
  start(): void {
    this.sub.events.on('disconnect', () => this.stream.disconnected());
    this.sub.connect(this.o.endpoint);
    this.sub.subscribe(this.o.topic);
    this.loop = this.receiveLoop();
  }

  /** Asks the replay socket for every batch from `from` on, feeding the stream. */
  replay(from: number): void {
    if (this.o.replayEndpoint === null || this.closed) {
      this.stream.replayFinished(false);
      return;
    }
    void this.runReplay(from).then(
      (ok) => this.stream.replayFinished(ok),
      () => this.stream.replayFinished(false),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sub.close();
    this.dealer?.close();
    this.dealer = null;
    await this.loop;
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const frames of this.sub) {
        if (frames.length !== 3) {
          this.stream.receive(NaN, EMPTY);
          continue;
        }
        this.stream.receive(decodeSeq(frames[1]), frames[2]);
      }
    } catch (err) {
      // Closing the socket ends the iteration with an error; anything else is unexpected.
      if (!this.closed) throw err;
    }
  }

  private async runReplay(from: number): Promise<boolean> {
    const dealer = new Dealer({ receiveTimeout: this.o.replayIdleMs, linger: 0, maxMessageSize: this.o.maxMessageBytes });
    this.dealer = dealer;
    const deadline = performance.now() + this.o.replayTotalMs;
    try {
      dealer.connect(this.o.replayEndpoint as string);
      await dealer.send([EMPTY, encodeSeq(from)]);
      while (!this.closed && performance.now() < deadline) {
        let frames = await dealer.receive();
        if (frames.length > 0 && frames[0].length === 0) frames = frames.slice(1);
        // [seq, payload] (before vllm#45177) or [topic, seq, payload] (after).
        if (frames.length !== 2 && frames.length !== 3) continue;
        const seq = decodeSeq(frames[frames.length - 2]);
        if (seq === END_OF_REPLAY) return true;
        this.stream.replayed(seq, frames[frames.length - 1]);
      }
      return false;
    } catch {
      return false; // idle timeout (EAGAIN), or closed meanwhile
    } finally {
      dealer.close();
      if (this.dealer === dealer) this.dealer = null;
    }
  }
}

const EMPTY = Buffer.alloc(0);
