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
const EMPTY = -1;
const TOMBSTONE = -2;
const NO_HOLDER = -1;

export class BlockTable {
  /** Block hash per entry; EMPTY or TOMBSTONE when unused. */
  private keys: Float64Array;
  /** Holders per entry: WAYS packed values (see PrefixIndexer) or NO_HOLDER. */
  holders: Float64Array;
  private mask: number;
  private used = 0;
  private dead = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.holders = new Float64Array(cap * WAYS).fill(NO_HOLDER);
    this.mask = cap - 1;
  }

  /** Blocks in the table. */
  get size(): number {
    return this.used;
  }

  /** Entry index of `hash`, or -1. */
  find(hash: number): number {
    const keys = this.keys;
    const mask = this.mask;
    let i = (hash | 0) & mask;
    for (;;) {
      const k = keys[i];
      if (k === hash) return i;
      if (k === EMPTY) return -1;
      i = (i + 1) & mask;
    }
  }

  /** Entry index of `hash`, inserting an entry without holders when absent. */
  insert(hash: number): number {
    if ((this.used + this.dead + 1) * 2 > this.keys.length) this.rehash();
    const keys = this.keys;
    const mask = this.mask;
    let i = (hash | 0) & mask;
    let grave = -1;
    for (;;) {
      const k = keys[i];
      if (k === hash) return i;
      if (k === EMPTY) break;
      if (k === TOMBSTONE && grave < 0) grave = i;
      i = (i + 1) & mask;
    }
    if (grave >= 0) {
      i = grave;
      this.dead--;
    }
    keys[i] = hash;
    this.used++;
    return i;
  }

  /** Removes entry `i` (its holders must be cleared). */
  remove(i: number): void {
    this.keys[i] = TOMBSTONE;
    this.used--;
    this.dead++;
  }

  /** Whether entry `i` has no holder left. */
  isEmpty(i: number): boolean {
    const base = i * WAYS;
    for (let w = 0; w < WAYS; w++) if (this.holders[base + w] !== NO_HOLDER) return false;
    return true;
  }

  private rehash(): void {
    const oldKeys = this.keys;
    const oldHolders = this.holders;
    // Grow only when live entries need it; otherwise the rehash just clears tombstones.
    const cap = (this.used + 1) * 4 > oldKeys.length ? oldKeys.length * 2 : oldKeys.length;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.holders = new Float64Array(cap * WAYS).fill(NO_HOLDER);
    this.mask = cap - 1;
    this.used = 0;
    this.dead = 0;
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j];
      if (k < 0) continue;
      const i = this.insert(k);
      this.holders.set(oldHolders.subarray(j * WAYS, j * WAYS + WAYS), i * WAYS);
    }
  }
}

export { NO_HOLDER };
