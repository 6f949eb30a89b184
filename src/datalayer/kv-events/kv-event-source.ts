/**
 * KV events for the whole pool: one event stream per endpoint, fed by its own ZMQ subscriber
 * (or, in the virtual-time scorecard, by direct calls), all writing one precise index. Follows
 * the pool: an endpoint that joins gets a subscriber, one that leaves loses its state.
 *
 * Ports, most specific first: the endpoint's own (pod annotation `switchboard.dev/kv-events-port`
 * and `…-replay-port`), then the settings (`--kv-events-port` over the scorer's
 * `kvEventsConfig.podDiscoveryConfig.socketPort`), then vLLM's default 5557.
 */
import type { Endpoint } from '../../pool/endpoint.js';
import type { EndpointPool } from '../../pool/pool.js';
import { DEFAULT_DECODE_LIMITS } from './decode.js';
import { DEFAULT_STREAM_OPTIONS, EventStream, type StreamDropReason, type StreamStatus } from './event-stream.js';
import { PreciseIndex } from './precise-index.js';
import { DEFAULT_ZMQ_OPTIONS, tcpAddress, ZmqEventSubscriber } from './zmq-subscriber.js';

/** vLLM's default publisher port. */
export const DEFAULT_KV_EVENTS_PORT = 5557;
/** Blocks an endpoint may hold in the index before its KV block count is known. */
export const DEFAULT_MAX_BLOCKS = 65_536;

export interface KvEventSourceOptions {
  /** Connect a subscriber to each endpoint (`discoverPods`); off in the virtual-time scorecard. */
  connect: boolean;
  port: number;
  /** Replay ROUTER port, 0 for none. */
  replayPort: number;
  topic: string;
  reorderGraceMs: number;
  /** Blocks an endpoint may hold when its `num_gpu_blocks` is unknown. */
  maxBlocks: number;
  /** Timers for the reorder grace (virtual time in the scorecard); the event loop's when absent. */
  timers?: { set(delayMs: number, fn: () => void): unknown; clear(handle: unknown): void };
}

/** What /debug/endpoints shows per endpoint. */
export interface EndpointEventState extends StreamStatus {
  blocks: number;
  blockSize: number;
  endpoint: string | null;
}

interface Attached {
  ep: Endpoint;
  stream: EventStream;
  sub: ZmqEventSubscriber | null;
}

export class KvEventSource {
  readonly index: PreciseIndex;
  /** Drops by reason, all endpoints (hostile or broken input). */
  readonly dropped: Partial<Record<StreamDropReason, number>> = {};
  private readonly bySlot: Array<Attached | undefined> = [];
  private readonly unsubscribe: () => void;

  constructor(
    private readonly pool: EndpointPool,
    private readonly o: KvEventSourceOptions,
  ) {
    this.index = new PreciseIndex((slot) => this.capacity(slot));
    for (const ep of pool.endpoints()) this.attach(ep);
    this.unsubscribe = pool.subscribe((e) => {
      if (e.type === 'added') this.attach(e.endpoint);
      else if (e.type === 'removed') this.detach(e.endpoint.slot);
      else if (portsOf(e.previous, o).join() !== portsOf(e.endpoint, o).join()) {
        this.detach(e.endpoint.slot);
        this.attach(e.endpoint);
      } else {
        const a = this.bySlot[e.endpoint.slot];
        if (a !== undefined) a.ep = e.endpoint;
      }
    });
  }

  /** Whether `slot`'s precise state may be used (attached, and no unrecovered gap). */
  reliable(slot: number): boolean {
    const a = this.bySlot[slot];
    return a !== undefined && a.stream.reliable;
  }

  /** Feeds one message to `slot`'s stream as if it came off its socket (scorecard, tests). */
  deliver(slot: number, seq: number, payload: Uint8Array): void {
    this.bySlot[slot]?.stream.receive(seq, payload);
  }

  /** Per-endpoint state by endpoint key. */
  state(slot: number): EndpointEventState | null {
    const a = this.bySlot[slot];
    if (a === undefined) return null;
    return {
      ...a.stream.status,
      dropped: { ...a.stream.status.dropped },
      blocks: this.index.blocksOf(slot),
      blockSize: this.index.blockSizeOf(slot),
      endpoint: a.sub === null ? null : tcpAddress(a.ep.address, portsOf(a.ep, this.o)[0]),
    };
  }

  /** Totals across endpoints. */
  totals(): { gaps: number; replays: number; resyncs: number; unreliable: number; blocks: number } {
    let gaps = 0;
    let replays = 0;
    let resyncs = 0;
    let unreliable = 0;
    let blocks = 0;
    for (let s = 0; s < this.bySlot.length; s++) {
      const a = this.bySlot[s];
      if (a === undefined) continue;
      gaps += a.stream.status.gaps;
      replays += a.stream.status.replays;
      resyncs += a.stream.status.resyncs;
      if (!a.stream.reliable) unreliable++;
      blocks += this.index.blocksOf(s);
    }
    return { gaps, replays, resyncs, unreliable, blocks };
  }

  async close(): Promise<void> {
    this.unsubscribe();
    const subs: Array<Promise<void>> = [];
    for (let s = 0; s < this.bySlot.length; s++) {
      const a = this.bySlot[s];
      if (a === undefined) continue;
      a.stream.close();
      if (a.sub !== null) subs.push(a.sub.close());
      this.bySlot[s] = undefined;
    }
    await Promise.all(subs);
  }

  private capacity(slot: number): number {
    const n = this.pool.cacheNumBlocks[slot];
    return n > 0 ? n : this.o.maxBlocks;
  }

  private attach(ep: Endpoint): void {
    const slot = ep.slot;
    const [port, replayPort] = portsOf(ep, this.o);
    let sub: ZmqEventSubscriber | null = null;
    const stream = new EventStream(slot, this.index, () => this.capacity(slot), {
      ...DEFAULT_STREAM_OPTIONS,
      reorderGraceMs: this.o.reorderGraceMs,
      limits: DEFAULT_DECODE_LIMITS,
      replay: this.o.connect && replayPort > 0 ? (from) => sub?.replay(from) : null,
      setTimer: (fn, ms) => (this.o.timers !== undefined ? this.o.timers.set(ms, fn) : setTimeout(fn, ms).unref()),
      clearTimer: (t) => (this.o.timers !== undefined ? this.o.timers.clear(t) : clearTimeout(t as NodeJS.Timeout)),
      onDrop: (reason) => {
        this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
      },
    });
    if (this.o.connect) {
      sub = new ZmqEventSubscriber(
        {
          ...DEFAULT_ZMQ_OPTIONS,
          endpoint: tcpAddress(ep.address, port),
          replayEndpoint: replayPort > 0 ? tcpAddress(ep.address, replayPort) : null,
          topic: this.o.topic,
        },
        stream,
      );
      sub.start();
    }
    this.bySlot[slot] = { ep, stream, sub };
  }

  private detach(slot: number): void {
    const a = this.bySlot[slot];
    if (a === undefined) return;
    this.bySlot[slot] = undefined;
    a.stream.close();
    void a.sub?.close();
    this.index.clear(slot);
  }
}

/** [publisher port, replay port] of `ep`. */
function portsOf(ep: Endpoint, o: KvEventSourceOptions): [number, number] {
  return [ep.kvEventsPort ?? o.port, ep.kvEventsReplayPort ?? o.replayPort];
}
