/**
 * Per-request KV bookkeeping over the block pool, as vLLM's KVCacheManager does it: prefix hits
 * on admission, block growth as tokens are scheduled, hash registration as blocks fill, release
 * on finish or preemption. The engine's scheduler decides *who* runs; this decides whether the
 * blocks are there.
 */
import { BlockPool } from './block-pool.js';
import type { SimRequest } from './request.js';

/** Prefix-cache counters in tokens (`vllm:prefix_cache_queries` / `_hits`). */
export interface PrefixCounters {
  prefixQueries: number;
  prefixHits: number;
}

/** Hears the blocks that become cached, as vLLM's BlockStored reports them. */
export interface BlockStoreListener {
  /**
   * Blocks `first..first+count` of `r` became cached: their hashes are `r.hashes[first..]`, their
   * parent `r.hashes[first-1]` (none for block 0), their tokens `r.tokens[first*bs ..]`.
   */
  stored(r: SimRequest, first: number, count: number, blockSize: number): void;
}

export class KvCacheManager {
  readonly pool: BlockPool;
  /** Told of newly cached blocks (KV events), or null. */
  storeListener: BlockStoreListener | null = null;
  private readonly hits: number[] = [];

  constructor(
    numBlocks: number,
    readonly blockSize: number,
    readonly prefixCaching: boolean,
  ) {
    this.pool = new BlockPool(numBlocks);
  }

  /** Makes room for `n` more tokens of a running request; false when blocks ran out. */
  grow(r: SimRequest, n: number): boolean {
    const need = Math.ceil((r.computed + n) / this.blockSize) - r.blocks.length;
    return need <= 0 || this.pool.allocate(need, r.blocks);
  }

  /**
   * Admits a waiting request: takes its longest cached prefix (whole blocks, never the last known
   * token) and blocks for a first chunk of up to `budget` tokens. Sets `computed` and
   * `scheduled`; false (nothing taken) when KV is short.
   */
  admit(r: SimRequest, budget: number, counters: PrefixCounters): boolean {
    const pool = this.pool;
    const bs = this.blockSize;
    const hits = this.hits;
    hits.length = 0;
    if (r.computed === 0 && this.prefixCaching) {
      const hashes = r.computeHashes(bs);
      const maxHit = Math.min(hashes.length, Math.floor((r.known - 1) / bs));
      for (let b = 0; b < maxHit; b++) {
        const blk = pool.lookup(hashes[b]);
        if (blk < 0) break;
        hits.push(blk);
      }
    }
    const computed = hits.length * bs;
    const need = r.known - computed;
    const n = need < budget ? need : budget;
    const fresh = Math.ceil((computed + n) / bs) - hits.length;
    // Hit blocks sitting in the free queue stop being free once taken.
    let reclaimed = 0;
    for (let k = 0; k < hits.length; k++) if (pool.isFree(hits[k])) reclaimed++;
    if (fresh + reclaimed > pool.freeCount) return false;
    for (let k = 0; k < hits.length; k++) pool.touch(hits[k]);
    r.blocks = hits.slice();
    r.hashed = hits.length;
    r.computed = computed;
    pool.allocate(fresh, r.blocks);
    r.scheduled = n;
    counters.prefixQueries += r.known;
    counters.prefixHits += computed;
    return true;
  }

  /** Registers the hashes of blocks that became full since the last call. */
  register(r: SimRequest): void {
    const hashes = r.hashes;
    if (hashes === null || !this.prefixCaching) return;
    let full = Math.floor(r.computed / this.blockSize);
    if (full > r.blocks.length) full = r.blocks.length;
    if (full > hashes.length) full = hashes.length;
    const listener = this.storeListener;
    if (listener === null) {
      for (let b = r.hashed; b < full; b++) this.pool.register(r.blocks[b], hashes[b]);
    } else {
      // One event per run of blocks actually cached (a duplicate of a cached block is not).
      let run = -1;
      for (let b = r.hashed; b < full; b++) {
        if (this.pool.register(r.blocks[b], hashes[b])) {
          if (run < 0) run = b;
        } else if (run >= 0) {
          listener.stored(r, run, b - run, this.blockSize);
          run = -1;
        }
      }
      if (run >= 0) listener.stored(r, run, full - run, this.blockSize);
    }
    if (full > r.hashed) r.hashed = full;
  }

  /** Whether `r` has filled a block since its last registration (cheap pre-check for `register`). */
  filledBlock(r: SimRequest): boolean {
    return this.prefixCaching && r.computed >= (r.hashed + 1) * this.blockSize;
  }

  /** Frees a request's blocks (they stay cached until evicted). */
  release(r: SimRequest): void {
    this.pool.release(r.blocks);
    r.blocks = [];
    r.hashed = 0;
  }
}
