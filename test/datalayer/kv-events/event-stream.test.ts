/** The sequence rules without sockets: timers are driven by hand. */
import { Encoder } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STREAM_OPTIONS, EventStream } from '../../../src/datalayer/kv-events/event-stream.js';
import { PreciseIndex } from '../../../src/datalayer/kv-events/precise-index.js';

const enc = new Encoder({ useBigInt64: true });
const store = (h: number, parent: number | null) => enc.encode([0, [['BlockStored', [h], parent, [h, h, h, h], 4, null, 'GPU']]]);
const cleared = enc.encode([0, [['AllBlocksCleared']]]);

function setup(replay: ((from: number) => void) | null = null, capacity = 100) {
  const index = new PreciseIndex(() => capacity);
  let timer: (() => void) | null = null;
  const replays: number[] = [];
  const s = new EventStream(0, index, () => capacity, {
    ...DEFAULT_STREAM_OPTIONS,
    replay: replay ?? null,
    setTimer: (fn) => (timer = fn),
    clearTimer: () => (timer = null),
  });
  return { s, index, fire: () => timer?.(), replays, pendingTimer: () => timer !== null };
}

describe('EventStream', () => {
  it('applies in order and holds a message that runs ahead until the missing one arrives', () => {
    const { s, index, pendingTimer } = setup();
    s.receive(0, store(1, null));
    s.receive(2, store(3, 2));
    expect(index.blocksOf(0)).toBe(1);
    expect(pendingTimer()).toBe(true);
    s.receive(1, store(2, 1));
    expect(index.blocksOf(0)).toBe(3);
    expect(s.status).toMatchObject({ lastSeq: 2, gaps: 0, reliable: true });
    expect(pendingTimer()).toBe(false);
  });

  it('declares a gap when the grace ends: without replay the endpoint turns unreliable and its state is dropped', () => {
    const { s, index, fire } = setup(null, 2);
    s.receive(0, store(1, null));
    s.receive(2, store(10, null));
    fire();
    expect(s.status.gaps).toBe(1);
    expect(s.reliable).toBe(false);
    expect(index.blocksOf(0)).toBe(1); // only what came after the hole
    s.receive(3, store(11, 10));
    expect(s.reliable).toBe(true); // the endpoint's block count of new stores rebuilt it
  });

  it('asks for replay from the first missing sequence, and applies replayed then held batches in order', () => {
    const asked: number[] = [];
    const { s, index, fire } = setup((from) => asked.push(from));
    s.receive(0, store(1, null));
    s.receive(3, store(4, 3));
    fire();
    expect(asked).toEqual([1]);
    s.replayed(1, store(2, 1));
    s.replayed(2, store(3, 2));
    s.replayed(3, store(4, 3));
    s.replayFinished(true);
    expect(index.blocksOf(0)).toBe(4);
    expect(s.status).toMatchObject({ lastSeq: 3, replays: 1, replaysRecovered: 1, reliable: true });
  });

  it('a replay that cannot reach the missing batches leaves the endpoint unreliable', () => {
    const { s, fire } = setup(() => undefined);
    s.receive(0, store(1, null));
    s.receive(5, store(6, null));
    fire();
    s.replayed(4, store(5, null)); // the buffer starts after the hole
    s.replayFinished(true);
    expect(s.reliable).toBe(false);
    expect(s.status.lastSeq).toBe(5);
  });

  it('drops repeats, resets on a restart (sequence 0) and on AllBlocksCleared', () => {
    const { s, index } = setup();
    s.receive(0, store(1, null));
    s.receive(1, store(2, 1));
    s.receive(1, store(2, 1));
    expect(s.status.dropped.duplicate).toBe(1);
    s.receive(0, store(7, null));
    expect(s.status.resyncs).toBe(1);
    expect(index.blocksOf(0)).toBe(1);
    s.receive(1, cleared);
    expect(s.status.resyncs).toBe(2);
    expect(index.blocksOf(0)).toBe(0);
  });

  it('a sequence out of order right after a disconnect is a new publisher', () => {
    const { s, index } = setup();
    s.receive(0, store(1, null));
    s.receive(1, store(2, 1));
    s.disconnected();
    s.receive(4, store(9, null)); // the new process's first messages were lost to the slow joiner
    expect(s.status.resyncs).toBe(1);
    expect(s.status.gaps).toBe(0);
    expect(index.blocksOf(0)).toBe(1);
  });
});
