/**
 * vLLM's ZMQ KV-event publisher, imitated: a PUB socket sending `[topic, seq (8 bytes BE),
 * msgpack KVEventBatch]`, sequence numbers from 0 per process, a buffer of recent batches and,
 * when configured, a ROUTER socket that replays them (`[id, "", seq]` in, every buffered batch
 * with seq >= start out, then the end marker).
 *
 * The wire shapes of the releases Switchboard decodes can be chosen, so tests and `switchboard
 * sim --kv-events` exercise each: events as tagged arrays (before vllm#42892) or maps; hashes as
 * uint64 ints or digest bytes; replay frames with the topic (v0.26.0 on, vllm#45177) or without.
 */
import { Encoder } from '@msgpack/msgpack';
import { Publisher, Router } from 'zeromq';
import type { BlockEvictionListener } from '../engine/block-pool.js';
import type { BlockStoreListener } from '../engine/kv-cache-manager.js';
import type { SimRequest } from '../engine/request.js';

export type EventEncoding = 'array' | 'map';
export type HashEncoding = 'int' | 'bytes';
export type ReplayLayout = 'topic' | 'legacy';

export interface KvEventsPublisherOptions {
  /** Host to bind (loopback by default). */
  host: string;
  /** PUB port; 0 picks a free one. */
  port: number;
  /** ROUTER port for replay; 0 picks a free one, -1 (default) none. */
  replayPort: number;
  topic: string;
  encoding: EventEncoding;
  hashes: HashEncoding;
  replayLayout: ReplayLayout;
  /** Batches kept for replay (vLLM `buffer_steps`). */
  bufferSteps: number;
}

export const DEFAULT_PUBLISHER_OPTIONS: KvEventsPublisherOptions = {
  host: '127.0.0.1',
  port: 0,
  replayPort: -1,
  topic: '',
  encoding: 'map',
  hashes: 'int',
  replayLayout: 'topic',
  bufferSteps: 10_000,
};

/** One event in the engine's terms, before encoding. */
export type SimKvEvent =
  | { type: 'stored'; hashes: number[]; parent: number | null; tokens: number[]; blockSize: number; lora: string | null }
  | { type: 'removed'; hashes: number[] }
  | { type: 'cleared' };

const END = Buffer.alloc(8, 0xff);
const EMPTY = Buffer.alloc(0);

/** A 53-bit sim hash as the engine would send it: a full uint64 whose low 53 bits are the hash, or 32 digest bytes ending in it. */
function wireHash(h: number, enc: HashEncoding): bigint | Uint8Array {
  // High bits from the hash itself, so the value uses all 64 bits as vLLM's do.
  const high = BigInt(Math.imul(h | 0, 0x9e3779b1) >>> 21) << 53n;
  const v = BigInt.asUintN(64, high | BigInt(h));
  if (enc === 'int') return v;
  const b = Buffer.alloc(32);
  for (let i = 0; i < 24; i++) b[i] = (h * (i + 7)) & 0xff;
  b.writeBigUInt64BE(v, 24);
  return b;
}

/** The msgpack payload of one KVEventBatch in the chosen shapes. */
export function encodeBatch(ts: number, events: readonly SimKvEvent[], o: Pick<KvEventsPublisherOptions, 'encoding' | 'hashes'>, encoder = new Encoder({ useBigInt64: true })): Uint8Array {
  const out = events.map((e) => {
    if (e.type === 'cleared') return o.encoding === 'map' ? { type: 'AllBlocksCleared' } : ['AllBlocksCleared'];
    const hashes = e.hashes.map((h) => wireHash(h, o.hashes));
    if (e.type === 'removed') return o.encoding === 'map' ? { type: 'BlockRemoved', block_hashes: hashes, medium: 'GPU' } : ['BlockRemoved', hashes, 'GPU'];
    const parent = e.parent === null ? null : wireHash(e.parent, o.hashes);
    if (o.encoding === 'map') {
      const m: Record<string, unknown> = { type: 'BlockStored', block_hashes: hashes, parent_block_hash: parent, token_ids: e.tokens, block_size: e.blockSize, lora_id: null, medium: 'GPU' };
      if (e.lora !== null) m.lora_name = e.lora;
      return m;
    }
    // Tagged array: fields in order, trailing defaults trimmed.
    const a: unknown[] = ['BlockStored', hashes, parent, e.tokens, e.blockSize, null, 'GPU'];
    if (e.lora !== null) a.push(e.lora);
    return a;
  });
  return encoder.encode([ts, out]);
}

/** Turns the engine's cache changes into events (one batch per tick, as vLLM sends one per step). */
export class EngineEventTap implements BlockStoreListener, BlockEvictionListener {
  private pending: SimKvEvent[] = [];
  private scheduled = false;

  constructor(private readonly flush: (events: SimKvEvent[]) => void) {}

  stored(r: SimRequest, first: number, count: number, blockSize: number): void {
    this.toEvent(r, first, count, blockSize, (e) => this.push(e));
  }

  /** The BlockStored event for blocks `first..first+count` of `r`, handed to `out`. */
  toEvent(r: SimRequest, first: number, count: number, blockSize: number, out: (e: SimKvEvent) => void): void {
    const hashes = r.hashes as Float64Array;
    out({
      type: 'stored',
      hashes: Array.from(hashes.subarray(first, first + count)),
      parent: first === 0 ? null : hashes[first - 1],
      tokens: Array.from(r.tokens.subarray(first * blockSize, (first + count) * blockSize)),
      blockSize,
      lora: r.lora,
    });
  }

  removed(hash: number): void {
    this.push({ type: 'removed', hashes: [hash] });
  }

  private push(e: SimKvEvent): void {
    this.pending.push(e);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      const batch = this.pending;
      this.pending = [];
      if (batch.length > 0) this.flush(batch);
    });
  }
}

export class KvEventsPublisher {
  private pub: Publisher | null = null;
  private router: Router | null = null;
  private seq = 0;
  private readonly buffer: Array<{ seq: number; payload: Uint8Array }> = [];
  private readonly encoder = new Encoder({ useBigInt64: true });
  private portValue = 0;
  private replayPortValue = 0;
  private dropLive = 0;
  private sending: Promise<void> = Promise.resolve();
  readonly o: KvEventsPublisherOptions;

  constructor(opts: Partial<KvEventsPublisherOptions> = {}) {
    this.o = { ...DEFAULT_PUBLISHER_OPTIONS, ...opts };
  }

  get port(): number {
    return this.portValue;
  }

  get replayPort(): number {
    return this.replayPortValue;
  }

  /** Binds the sockets (again after `close`, as a restarted vLLM would: sequence from 0). */
  async start(): Promise<void> {
    this.seq = 0;
    this.buffer.length = 0;
    const pub = new Publisher({ linger: 0, sendHighWaterMark: 100_000 });
    await bindRetrying(pub, `tcp://${this.o.host}:${this.portValue || this.o.port || '*'}`);
    this.portValue = portOf(pub.lastEndpoint);
    this.pub = pub;
    if (this.o.replayPort >= 0) {
      const router = new Router({ linger: 0 });
      await bindRetrying(router, `tcp://${this.o.host}:${this.replayPortValue || this.o.replayPort || '*'}`);
      this.replayPortValue = portOf(router.lastEndpoint);
      this.router = router;
      void this.serveReplay(router);
    }
  }

  /** Publishes one batch of events; resolves once it is handed to ZMQ. */
  publish(events: readonly SimKvEvent[]): Promise<void> {
    return this.publishPayload(encodeBatch(Date.now() / 1000, events, this.o, this.encoder));
  }

  /** Publishes a raw payload under the next sequence number (tests send hostile payloads this way). */
  publishPayload(payload: Uint8Array): Promise<void> {
    const seq = this.seq++;
    this.buffer.push({ seq, payload });
    if (this.buffer.length > this.o.bufferSteps) this.buffer.shift();
    if (this.dropLive > 0) {
      // Lost on the live socket (as past the HWM) but still in the replay buffer.
      this.dropLive--;
      return this.sending;
    }
    return this.sendFrames([Buffer.from(this.o.topic), seqFrame(seq), payload]);
  }

  /** Sends frames as they are (tests: wrong frame counts, reordered sequence numbers). */
  sendFrames(frames: Array<Buffer | Uint8Array>): Promise<void> {
    const pub = this.pub;
    if (pub === null) return this.sending;
    this.sending = this.sending.then(() => pub.send(frames)).catch(() => undefined);
    return this.sending;
  }

  /** The next `n` batches are not sent live (a gap the replay socket can fill). */
  dropNextLive(n: number): void {
    this.dropLive += n;
  }

  /** Closes the sockets (the process stops; `start` again to restart it). */
  async close(): Promise<void> {
    await this.sending;
    this.pub?.close();
    this.router?.close();
    this.pub = null;
    this.router = null;
  }

  private async serveReplay(router: Router): Promise<void> {
    try {
      for await (const frames of router) {
        // vLLM ignores anything but [id, "", seq].
        if (frames.length !== 3 || frames[1].length !== 0 || frames[2].length !== 8) continue;
        const id = frames[0];
        const start = Number(Buffer.from(frames[2]).readBigUInt64BE(0));
        const topic = Buffer.from(this.o.topic);
        for (const b of this.buffer) {
          if (b.seq < start) continue;
          await router.send(this.o.replayLayout === 'topic' ? [id, EMPTY, topic, seqFrame(b.seq), b.payload] : [id, EMPTY, seqFrame(b.seq), b.payload]);
        }
        await router.send(this.o.replayLayout === 'topic' ? [id, EMPTY, EMPTY, END, EMPTY] : [id, EMPTY, END, EMPTY]);
      }
    } catch {
      // Closed.
    }
  }
}

/** Binds, retrying briefly while a just-closed socket still holds the port (a restart on the same port). */
async function bindRetrying(s: Publisher | Router, address: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await s.bind(address);
      return;
    } catch (err) {
      if (attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function seqFrame(seq: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(seq), 0);
  return b;
}

function portOf(endpoint: string | null): number {
  const m = /:(\d+)$/.exec(endpoint ?? '');
  return m === null ? 0 : Number(m[1]);
}
