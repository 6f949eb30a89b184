/**
 * Approximate prefix-cache index: which endpoints were recently sent which prompt blocks.
 *
 * Per endpoint, a ring of the block hashes it was sent, in order, sized to the endpoint's KV
 * block count; a shared table (block-table.ts) from block hash to its holders. Each holder
 * records the ring position of the endpoint's latest copy of the block, packed with the slot in
 * one number (slot * 2^24 + position), so the index allocates no object per block.
 *
 * Recency is approximate LRU: a block sent again moves to the ring's head only when its latest
 * copy has aged past half the ring (a block used that recently is safe anyway), so a hot system
 * prompt costs a lookup, not a write. When the ring wraps, the overwritten position evicts its
 * block from the endpoint only if that position is still the block's latest copy.
 *
 * Why not lru-cache with a reverse map (the first version): every insert and eviction went
 * through a second structure and a dispose callback, and the reverse Map boxed every hash; with
 * unique prompt tails (~100 new blocks per request) that measured several times slower per pick
 * (bench/RESULTS.md).
 */

import { BlockTable, NO_HOLDER, WAYS } from './block-table.js';

/** Most ring positions representable in a holder entry (2^24 blocks per endpoint). */
export const MAX_RING = 1 << 24;
const POS_SPAN = MAX_RING;

/** One endpoint's ring of block hashes. */
class Ring {
  hashes: Float64Array;
  /** Blocks written so far (monotonic); the next position is `written % capacity`. */
  written = 0;
  /** Blocks this endpoint holds (latest copies). */
  live = 0;
  /** KV blocks the endpoint has allocated for requests sent to it, estimated, in ring units (monotonic). */
  clock = 0;
  /** Per position: `clock` when its block was last sent; null unless the index keeps ages. */
  stamps: Float64Array | null;

  constructor(
    readonly capacity: number,
    withStamps: boolean,
  ) {
    this.hashes = new Float64Array(Math.min(capacity, 1024));
    this.stamps = withStamps ? new Float64Array(this.hashes.length) : null;
  }

  /** Position of the next write, growing the backing array until it reaches the capacity. */
  nextPosition(): number {
    const pos = this.written % this.capacity;
    if (pos >= this.hashes.length) {
      const next = new Float64Array(Math.min(this.capacity, this.hashes.length * 2));
      next.set(this.hashes);
      this.hashes = next;
      if (this.stamps !== null) {
        const stamps = new Float64Array(next.length);
        stamps.set(this.stamps);
        this.stamps = stamps;
      }
    }
    return pos;
  }

  /** How many writes ago position `pos` was written, 1..capacity (for positions in the ring). */
  age(pos: number): number {
    const head = this.written % this.capacity;
    return ((head - pos - 1 + this.capacity) % this.capacity) + 1;
  }
}

/** Block-hash index per pool slot. */
export class PrefixIndexer {
  /**
   * `keepsAges`: stamp every ring position with the endpoint's allocation clock, so match() can
   * report ages (one more number per position; off, the rings cost what they did).
   */
  constructor(private readonly keepsAges = false) {}

  private readonly rings: Array<Ring | undefined> = [];
  private readonly table = new BlockTable();
  private entries = 0;
  // The last match's table entries, reused by the add() that follows it in the same cycle.
  private matchedHashes: Float64Array | null = null;
  private matchedEntries = new Int32Array(256);
  private matchedCount = 0;
  private matchedRehashes = -1;

  /** Block copies across all endpoints (`inference_extension_prefix_indexer_size`). */
  get size(): number {
    return this.entries;
  }

  /**
   * Walks `hashes[0..count)` in order and adds 1 to `counts[slot]` for every endpoint holding
   * each block, stopping at the first block nobody holds. Slots counted for the first time are
   * appended to `touched`; returns the new touched length. With `ages`, `ages[slot]` becomes the
   * age of the deepest block the endpoint matched: blocks it allocated since that block was last
   * sent (see tick), as a fraction of its ring.
   */
  match(hashes: Float64Array, count: number, counts: Float64Array, touched: Int32Array, touchedLen: number, ages: Float64Array | null = null): number {
    const table = this.table;
    if (this.matchedEntries.length < count) this.matchedEntries = new Int32Array(count);
    const entries = this.matchedEntries;
    this.matchedHashes = hashes;
    this.matchedRehashes = table.rehashes;
    this.matchedCount = 0;
    for (let i = 0; i < count; i++) {
      const e = table.find(hashes[i]);
      if (e < 0) break;
      entries[i] = e;
      this.matchedCount = i + 1;
      const holders = table.data;
      const base = table.holderBase(e);
      for (let w = 0; w < WAYS; w++) {
        const v = holders[base + w];
        if (v === NO_HOLDER) continue;
        const s = Math.floor(v / POS_SPAN);
        if (counts[s]++ === 0) touched[touchedLen++] = s;
        if (ages !== null) {
          const r = this.rings[s] as Ring; // a holder always has a ring
          ages[s] = r.stamps === null ? 0 : (r.clock - r.stamps[v % POS_SPAN]) / r.capacity;
        }
      }
    }
    return touchedLen;
  }

  /** Records that `slot` now caches `hashes[0..count)`; `capacity` sizes a new endpoint's ring. */
  add(slot: number, hashes: Float64Array, count: number, capacity: number): void {
    let ring = this.rings[slot];
    if (ring === undefined) {
      ring = new Ring(Math.max(1, Math.min(MAX_RING, Math.floor(capacity))), this.keepsAges);
      this.rings[slot] = ring;
    }
    const refreshAge = Math.max(1, ring.capacity >> 1);
    const known = hashes === this.matchedHashes ? this.matchedCount : 0;
    for (let i = 0; i < count; i++) {
      const h = hashes[i];
      const pos = this.positionOf(h, slot, i < known ? this.matchedEntries[i] : -1);
      if (pos >= 0 && ring.age(pos) < refreshAge) {
        if (ring.stamps !== null) ring.stamps[pos] = ring.clock; // recent enough: no write, but used now
        continue;
      }
      this.write(ring, slot, h, pos >= 0);
    }
  }

  /**
   * Advances `slot`'s allocation clock by `blocks` ring units: the KV blocks a request sent there
   * allocates, including those the ring never names (the prompt past the hashed cap).
   */
  tick(slot: number, blocks: number): void {
    const ring = this.rings[slot];
    if (ring !== undefined) ring.clock += blocks;
  }

  /** Forgets everything about `slot` (the endpoint left the pool). */
  removeSlot(slot: number): void {
    const ring = this.rings[slot];
    if (ring === undefined) return;
    const n = Math.min(ring.written, ring.capacity);
    for (let pos = 0; pos < n; pos++) this.evict(ring.hashes[pos], slot, pos);
    this.rings[slot] = undefined;
  }

  /** Ring position of `slot`'s copy of `h`, or -1. `hint`: an entry index match() found for `h`. */
  private positionOf(h: number, slot: number, hint: number): number {
    const table = this.table;
    // The hint holds unless a rehash moved entries or an eviction freed and reused the entry.
    const e = hint >= 0 && table.rehashes === this.matchedRehashes && table.keyAt(hint) === h ? hint : table.find(h);
    if (e < 0) return -1;
    const holders = table.data;
    const base = table.holderBase(e);
    for (let w = 0; w < WAYS; w++) {
      const v = holders[base + w];
      if (v !== NO_HOLDER && Math.floor(v / POS_SPAN) === slot) return v % POS_SPAN;
    }
    return -1;
  }

  /** Writes `h` at the ring head for `slot`, evicting what the head overwrites. */
  private write(ring: Ring, slot: number, h: number, refresh: boolean): void {
    const pos = ring.nextPosition();
    if (ring.written >= ring.capacity) {
      // The ring is full: the position's old block leaves unless it is the block being refreshed.
      const old = ring.hashes[pos];
      if (!(refresh && old === h)) this.evict(old, slot, pos);
    }
    ring.hashes[pos] = h;
    if (ring.stamps !== null) ring.stamps[pos] = ring.clock;
    ring.written++;
    const holder = slot * POS_SPAN + pos;
    const e = this.table.insert(h); // may rehash: take the index only now
    const holders = this.table.data;
    const base = this.table.holderBase(e);
    let free = -1;
    for (let w = 0; w < WAYS; w++) {
      const v = holders[base + w];
      if (v === NO_HOLDER) {
        if (free < 0) free = w;
      } else if (Math.floor(v / POS_SPAN) === slot) {
        holders[base + w] = holder; // refresh: move this endpoint's copy to the head
        return;
      }
    }
    if (free < 0) free = this.dropOldestHolder(base);
    holders[base + free] = holder;
    ring.live++;
    this.entries++;
  }

  /** Frees the way whose copy is oldest in its own ring; returns the way. */
  private dropOldestHolder(base: number): number {
    const holders = this.table.data;
    let way = 0;
    let oldest = -1;
    for (let w = 0; w < WAYS; w++) {
      const v = holders[base + w];
      const r = this.rings[Math.floor(v / POS_SPAN)];
      const age = r === undefined ? Infinity : r.age(v % POS_SPAN);
      if (age > oldest) {
        oldest = age;
        way = w;
      }
    }
    const r = this.rings[Math.floor(holders[base + way] / POS_SPAN)];
    if (r !== undefined) r.live--;
    this.entries--;
    holders[base + way] = NO_HOLDER;
    return way;
  }

  /** Removes `slot`'s copy of `h` if its latest copy is at `pos`. */
  private evict(h: number, slot: number, pos: number): void {
    const e = this.table.find(h);
    if (e < 0) return;
    const holders = this.table.data;
    const base = this.table.holderBase(e);
    const holder = slot * POS_SPAN + pos;
    for (let w = 0; w < WAYS; w++) {
      if (holders[base + w] !== holder) continue;
      holders[base + w] = NO_HOLDER;
      this.entries--;
      const ring = this.rings[slot];
      if (ring !== undefined) ring.live--;
      if (this.table.isEmpty(e)) this.table.remove(e);
      return;
    }
  }
}
