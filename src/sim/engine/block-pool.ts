/**
 * The paged KV cache of one engine: fixed-size blocks, reference counts, and prefix caching.
 *
 * Mirrors vLLM V1's BlockPool: a block in use has refCount > 0. A block whose users all finished
 * goes to the tail of the free queue but keeps its hash, so a later request with the same prefix
 * can take it back (a cache hit). Allocation takes blocks from the head of the free queue, which
 * evicts the least recently freed cached block. Usage counts referenced blocks only.
 */

const NONE = -1;

/** Hears what vLLM's KV-event publisher would publish: blocks evicted from the prefix cache. */
export interface BlockEvictionListener {
  /** A cached block with content `hash` was evicted (vLLM's BlockRemoved). */
  removed(hash: number): void;
}

/**
 * Map key of a 53-bit block hash: its low 30 bits, a small integer V8 hashes fast. The full hash
 * in `blockHash` confirms a hit; two hashes sharing a key only cost a missed cache hit.
 */
function keyOf(hash: number): number {
  return (hash >>> 0) & 0x3fffffff;
}

export class BlockPool {
  /** Total blocks. */
  readonly numBlocks: number;
  /** Users of each block. */
  readonly refCount: Int32Array;
  /** Hash of each block's content, or -1 while the block is not cached. */
  readonly blockHash: Float64Array;
  /** Blocks evicted from the prefix cache so far. */
  evictions = 0;
  /** Told of each eviction (KV events), or null. */
  evictionListener: BlockEvictionListener | null = null;

  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly inFree: Uint8Array;
  /** Sentinel index of the circular free list (head = next[sentinel]). */
  private readonly sentinel: number;
  private freeCountValue: number;
  private readonly cached = new Map<number, number>();

  constructor(numBlocks: number) {
    this.numBlocks = numBlocks;
    this.refCount = new Int32Array(numBlocks);
    this.blockHash = new Float64Array(numBlocks).fill(NONE);
    this.prev = new Int32Array(numBlocks + 1);
    this.next = new Int32Array(numBlocks + 1);
    this.inFree = new Uint8Array(numBlocks);
    this.sentinel = numBlocks;
    this.next[this.sentinel] = this.sentinel;
    this.prev[this.sentinel] = this.sentinel;
    this.freeCountValue = 0;
    for (let b = 0; b < numBlocks; b++) this.pushTail(b);
  }

  /** Blocks that can be allocated now (truly free plus cached-but-unreferenced). */
  get freeCount(): number {
    return this.freeCountValue;
  }

  /** Referenced blocks. */
  get usedCount(): number {
    return this.numBlocks - this.freeCountValue;
  }

  /** Fraction of blocks in use, as vLLM's `kv_cache_usage_perc` reports it (0..1). */
  usage(): number {
    return (this.numBlocks - this.freeCountValue) / this.numBlocks;
  }

  /** Number of cached block hashes (referenced or not). */
  get cachedCount(): number {
    return this.cached.size;
  }

  /** The block holding content `hash`, or -1. */
  lookup(hash: number): number {
    const b = this.cached.get(keyOf(hash));
    return b === undefined || this.blockHash[b] !== hash ? NONE : b;
  }

  /** Whether `block` sits in the free queue (unreferenced). */
  isFree(block: number): boolean {
    return this.inFree[block] === 1;
  }

  /** Takes a reference on a cached block found by `lookup` (a prefix hit). */
  touch(block: number): void {
    if (this.refCount[block] === 0 && this.inFree[block] === 1) this.unlink(block);
    this.refCount[block]++;
  }

  /** Allocates `n` fresh blocks into `out`; false (nothing taken) when fewer are free. */
  allocate(n: number, out: number[]): boolean {
    if (n > this.freeCountValue) return false;
    for (let i = 0; i < n; i++) {
      const b = this.next[this.sentinel];
      this.unlink(b);
      const h = this.blockHash[b];
      if (h !== NONE) {
        const k = keyOf(h);
        if (this.cached.get(k) === b) this.cached.delete(k);
        this.blockHash[b] = NONE;
        this.evictions++;
        this.evictionListener?.removed(h);
      }
      this.refCount[b] = 1;
      out.push(b);
    }
    return true;
  }

  /** Records that `block` now holds content `hash`; the first block with a hash keeps it. Returns whether it was recorded. */
  register(block: number, hash: number): boolean {
    if (this.blockHash[block] !== NONE) return false;
    const k = keyOf(hash);
    if (this.cached.has(k)) return false; // duplicate content computed twice: keep the older copy
    this.blockHash[block] = hash;
    this.cached.set(k, block);
    return true;
  }

  /**
   * Drops one reference on each of `blocks`. Blocks reaching zero join the free-queue tail in
   * reverse order, so a request's last blocks are evicted before its (more shareable) first ones.
   */
  release(blocks: readonly number[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i];
      if (--this.refCount[b] === 0) this.pushTail(b);
    }
  }

  /** Checks internal consistency; returns a message for the first violation, or null. */
  check(): string | null {
    let free = 0;
    for (let b = this.next[this.sentinel]; b !== this.sentinel; b = this.next[b]) {
      if (this.refCount[b] !== 0) return `block ${b} is free with refCount ${this.refCount[b]}`;
      free++;
      if (free > this.numBlocks) return 'free list cycle';
    }
    if (free !== this.freeCountValue) return `free count ${this.freeCountValue} but ${free} listed`;
    for (let b = 0; b < this.numBlocks; b++) {
      if (this.refCount[b] < 0) return `block ${b} refCount ${this.refCount[b]}`;
      if (this.refCount[b] === 0 && this.inFree[b] !== 1) return `block ${b} leaked`;
    }
    for (const [k, b] of this.cached) if (keyOf(this.blockHash[b]) !== k) return `cache entry ${k} points at block ${b}`;
    return null;
  }

  private pushTail(b: number): void {
    const s = this.sentinel;
    const last = this.prev[s];
    this.next[last] = b;
    this.prev[b] = last;
    this.next[b] = s;
    this.prev[s] = b;
    this.inFree[b] = 1;
    this.freeCountValue++;
  }

  private unlink(b: number): void {
    const p = this.prev[b];
    const n = this.next[b];
    this.next[p] = n;
    this.prev[n] = p;
    this.inFree[b] = 0;
    this.freeCountValue--;
  }
}
