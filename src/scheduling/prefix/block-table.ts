/**
 * Open-addressing hash table from a 53-bit block hash to the endpoints holding the block, in
 * typed arrays.
 *
 * Why not a Map: block hashes are doubles, which a Map stores boxed; with a few hundred thousand
 * blocks a Map lookup measured ~5x slower than this table here (random access dominates, and the
 * table keeps key and holders in flat arrays). Each entry holds up to `WAYS` holders inline; a
 * block held by more endpoints keeps the most recently added ones (the index is approximate
 * anyway, and such a block already scores equally on many endpoints).
 */

/** Inline holders per block. */
export const WAYS = 4;
/** Numbers per entry: the key, then its holders, side by side so a lookup touches one cache line. */
const STRIDE = 1 + WAYS;
const EMPTY = -1;
const TOMBSTONE = -2;
const NO_HOLDER = -1;

export class BlockTable {
  /** Per entry: the block hash (EMPTY or TOMBSTONE when unused), then WAYS holders (packed values, see PrefixIndexer, or NO_HOLDER). */
  data: Float64Array;
  private capacity: number;
  private mask: number;
  private used = 0;
  private dead = 0;
  /** Rehashes so far: entry indices taken before a rehash are void after it. */
  rehashes = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.data = emptyData(cap);
    this.capacity = cap;
    this.mask = cap - 1;
  }

  /** Index in `data` of entry `i`'s first holder. */
  holderBase(i: number): number {
    return i * STRIDE + 1;
  }

  /** Blocks in the table. */
  get size(): number {
    return this.used;
  }

  /** Entry index of `hash`, or -1. */
  find(hash: number): number {
    const data = this.data;
    const mask = this.mask;
    let i = (hash | 0) & mask;
    for (;;) {
      const k = data[i * STRIDE];
      if (k === hash) return i;
      if (k === EMPTY) return -1;
      i = (i + 1) & mask;
    }
  }

  /** Entry index of `hash`, inserting an entry without holders when absent. */
  insert(hash: number): number {
    if ((this.used + this.dead + 1) * 2 > this.capacity) this.rehash();
    const data = this.data;
    const mask = this.mask;
    let i = (hash | 0) & mask;
    let grave = -1;
    for (;;) {
      const k = data[i * STRIDE];
      if (k === hash) return i;
      if (k === EMPTY) break;
      if (k === TOMBSTONE && grave < 0) grave = i;
      i = (i + 1) & mask;
    }
    if (grave >= 0) {
      i = grave;
      this.dead--;
    }
    data[i * STRIDE] = hash;
    this.used++;
    return i;
  }

  /** The hash stored in entry `i` (negative when the entry is unused). */
  keyAt(i: number): number {
    return this.data[i * STRIDE];
  }

  /** Removes entry `i` (its holders must be cleared). */
  remove(i: number): void {
    this.data[i * STRIDE] = TOMBSTONE;
    this.used--;
    this.dead++;
  }

  /** Whether entry `i` has no holder left. */
  isEmpty(i: number): boolean {
    const base = i * STRIDE + 1;
    for (let w = 0; w < WAYS; w++) if (this.data[base + w] !== NO_HOLDER) return false;
    return true;
  }

  private rehash(): void {
    this.rehashes++;
    const old = this.data;
    const oldCap = this.capacity;
    // Grow only when live entries need it; otherwise the rehash just clears tombstones.
    const cap = (this.used + 1) * 4 > oldCap ? oldCap * 2 : oldCap;
    this.data = emptyData(cap);
    this.capacity = cap;
    this.mask = cap - 1;
    this.used = 0;
    this.dead = 0;
    for (let j = 0; j < oldCap; j++) {
      const k = old[j * STRIDE];
      if (k < 0) continue;
      const i = this.insert(k);
      this.data.set(old.subarray(j * STRIDE + 1, j * STRIDE + STRIDE), i * STRIDE + 1);
    }
  }
}

function emptyData(entries: number): Float64Array {
  const d = new Float64Array(entries * STRIDE).fill(NO_HOLDER);
  for (let i = 0; i < entries; i++) d[i * STRIDE] = EMPTY;
  return d;
}

export { NO_HOLDER };
