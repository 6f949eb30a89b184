/**
 * KV events over real ZMQ sockets on loopback: the simulator's vLLM-format publisher (PUB and
 * replay ROUTER) against the event source's SUB and DEALER sockets.
 */
import { Encoder } from '@msgpack/msgpack';
import { afterEach, describe, expect, it } from 'vitest';
import { KvEventSource } from '../../../src/datalayer/kv-events/kv-event-source.js';
import { EndpointPool } from '../../../src/pool/pool.js';
import { KvEventsPublisher, type ReplayLayout, type SimKvEvent } from '../../../src/sim/pod/kv-events-publisher.js';
import { until } from '../../support/net.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await (cleanups.pop() as () => Promise<void>)();
});

/** A chain of `n` blocks of 4 tokens from `start`: engine hashes start+1.. (parents chained). */
function chain(first: number, n: number, parent: number | null): SimKvEvent {
  const hashes = Array.from({ length: n }, (_, i) => first + i);
  const tokens = Array.from({ length: n * 4 }, (_, i) => first * 10 + i);
  return { type: 'stored', hashes, parent, tokens, blockSize: 4, lora: null };
}

async function publisher(replay: boolean, layout: ReplayLayout = 'topic'): Promise<KvEventsPublisher> {
  const p = new KvEventsPublisher({ replayPort: replay ? 0 : -1, replayLayout: layout, topic: 'kv@pod@m' });
  await p.start();
  cleanups.push(() => p.close());
  return p;
}

function source(pool: EndpointPool, o: { replay?: boolean; grace?: number } = {}): KvEventSource {
  const s = new KvEventSource(pool, { connect: true, port: 5557, replayPort: 0, topic: '', reorderGraceMs: o.grace ?? 30, maxBlocks: 1000 });
  cleanups.push(() => s.close());
  return s;
}

function addEndpoint(pool: EndpointPool, pub: KvEventsPublisher, i: number): number {
  const ep = pool.upsert({ address: '127.0.0.1', port: 9000 + i, kvEventsPort: pub.port, ...(pub.replayPort > 0 ? { kvEventsReplayPort: pub.replayPort } : {}) });
  return ep.slot;
}

/** Publishes `probe` events until the subscriber sees one (ZMQ's slow joiner: early messages are dropped). */
async function connected(pub: KvEventsPublisher, src: KvEventSource, slot: number): Promise<void> {
  let k = 0;
  await until(() => {
    if ((src.state(slot)?.batches ?? 0) > 0) return true;
    void pub.publish([{ type: 'removed', hashes: [999_000 + k++] }]);
    return false;
  }, 20);
}

/** One publisher, one endpoint on it, and a source already receiving its live events. */
async function connectedSource(o: { replay?: boolean; layout?: ReplayLayout; grace?: number } = {}) {
  const pub = await publisher(o.replay ?? false, o.layout);
  const pool = new EndpointPool();
  const src = source(pool, o);
  const slot = addEndpoint(pool, pub, 0);
  await connected(pub, src, slot);
  return { pub, pool, src, slot };
}

describe('KvEventSource over ZMQ', () => {
  it('indexes stored blocks, applies removals, and drops an endpoint that leaves the pool', async () => {
    const { pub, pool, src, slot } = await connectedSource();
    await pub.publish([chain(1, 3, null)]);
    await until(() => src.index.blocksOf(slot) === 3);
    await pub.publish([{ type: 'removed', hashes: [3] }]);
    await until(() => src.index.blocksOf(slot) === 2);
    expect(src.reliable(slot)).toBe(true);
    pool.remove('127.0.0.1:9000');
    expect(src.index.blocksOf(slot)).toBe(0);
    expect(src.index.keys).toBe(0);
    expect(src.state(slot)).toBeNull();
  });

  for (const layout of ['topic', 'legacy'] as const) {
    it(`recovers a sequence gap through the replay socket (${layout === 'topic' ? 'v0.26+ frames with topic' : 'frames before vllm#45177'})`, async () => {
      const { pub, src, slot } = await connectedSource({ replay: true, layout });
      pub.dropNextLive(2);
      await pub.publish([chain(1, 2, null)]); // lost live
      await pub.publish([chain(3, 1, 2)]); // lost live
      await pub.publish([chain(4, 1, 3)]); // arrives: gap 2 behind
      await until(() => src.index.blocksOf(slot) === 4);
      const st = src.state(slot);
      expect(st?.gaps).toBe(1);
      expect(st?.replays).toBeGreaterThanOrEqual(1);
      expect(st?.replaysRecovered).toBeGreaterThanOrEqual(1);
      expect(src.reliable(slot)).toBe(true);
      expect(src.index.counts.skipped.unknown_parent).toBe(0);
    });
  }

  it('without a replay socket a gap makes the endpoint unreliable until its state is rebuilt', async () => {
    const pub = await publisher(false);
    const pool = new EndpointPool();
    const src = source(pool, { grace: 10 });
    const slot = addEndpoint(pool, pub, 0);
    pool.cacheNumBlocks[slot] = 6; // the endpoint's KV block count bounds the rebuild
    await connected(pub, src, slot);
    await pub.publish([chain(1, 2, null)]);
    await until(() => src.index.blocksOf(slot) === 2);
    pub.dropNextLive(1);
    await pub.publish([{ type: 'removed', hashes: [1] }]); // lost: the index would keep a stale block
    await pub.publish([chain(10, 2, null)]);
    await until(() => src.state(slot)?.gaps === 1);
    expect(src.reliable(slot)).toBe(false);
    // The stale state was dropped; new stores rebuild it, and a full block count of them restores trust.
    await pub.publish([chain(20, 4, null)]);
    await until(() => src.reliable(slot));
    expect(src.index.blocksOf(slot)).toBe(6);
  });

  it('a restarted publisher (sequence back to 0) resets the endpoint', async () => {
    const { pub, src, slot } = await connectedSource();
    await pub.publish([chain(1, 3, null)]);
    await until(() => src.index.blocksOf(slot) === 3);
    await pub.close();
    await pub.start(); // same port, sequence from 0
    let k = 0;
    await until(() => {
      if ((src.state(slot)?.resyncs ?? 0) >= 1) return true;
      void pub.publish([{ type: 'removed', hashes: [999_000 + k++] }]);
      return false;
    }, 20);
    expect(src.index.blocksOf(slot)).toBe(0);
    await pub.publish([chain(7, 2, null)]);
    await until(() => src.index.blocksOf(slot) === 2);
  });

  it('puts reordered messages back in sequence order without declaring a gap', async () => {
    const { pub, src, slot } = await connectedSource({ grace: 2000 });
    const last = src.state(slot)?.lastSeq ?? 0;
    const enc = new Encoder({ useBigInt64: true });
    const batch = (e: unknown[]) => enc.encode([1.0, [e]]);
    const seq = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(n));
      return b;
    };
    // Stored (seq last+1) must come before its child (last+2): sent child first.
    const topic = Buffer.from('kv@pod@m');
    await pub.sendFrames([topic, seq(last + 2), batch(['BlockStored', [2n], 1n, [5, 6, 7, 8], 4, null, 'GPU'])]);
    await pub.sendFrames([topic, seq(last + 1), batch(['BlockStored', [1n], null, [1, 2, 3, 4], 4, null, 'GPU'])]);
    await until(() => src.index.blocksOf(slot) === 2);
    expect(src.state(slot)?.gaps).toBe(0);
    expect(src.index.counts.skipped.unknown_parent).toBe(0);
  });

  it('counts and drops hostile messages; the process and the other endpoint are unaffected', async () => {
    const bad = await publisher(false);
    const good = await publisher(false);
    const pool = new EndpointPool();
    const src = source(pool);
    const badSlot = addEndpoint(pool, bad, 0);
    const goodSlot = addEndpoint(pool, good, 1);
    await connected(bad, src, badSlot);
    await connected(good, src, goodSlot);
    const enc = new Encoder({ useBigInt64: true });
    await bad.publishPayload(Buffer.from([0xc1, 0xff, 0x00])); // not msgpack
    await bad.publishPayload(enc.encode([1.0, [['Mystery', 1, 2]]])); // unknown tag
    await bad.publishPayload(enc.encode([1.0, Array.from({ length: 5000 }, () => ['AllBlocksCleared'])])); // huge batch
    await bad.publishPayload(enc.encode([1.0, [['BlockStored', Array.from({ length: 100_000 }, (_, i) => i), null, [], 16, null, 'GPU']]])); // absurd block count
    await bad.publishPayload(enc.encode([1.0, [['BlockStored', ['x'], null, [1, 2], 2, null, 'GPU']]])); // wrong types
    await bad.publishPayload(enc.encode({ ts: 'now', events: 3 })); // not a batch
    await bad.sendFrames([Buffer.from('t'), Buffer.from('short')]); // wrong frame count
    await good.publish([chain(1, 2, null)]);
    await until(() => Object.values(src.dropped).reduce((a, b) => a + (b ?? 0), 0) >= 7);
    await until(() => src.index.blocksOf(goodSlot) === 2);
    expect(src.dropped).toMatchObject({ msgpack: 1, unknown_tag: 1, too_many_events: 1, too_many_blocks: 1, bad_field: 1, batch_shape: 1, bad_frames: 1 });
    expect(src.index.blocksOf(badSlot)).toBe(0);
    // The hostile endpoint still applies good events afterwards.
    await bad.publish([chain(50, 1, null)]);
    await until(() => src.index.blocksOf(badSlot) === 1);
  });
});
