/**
 * Approximate prefix-cache index: which endpoints were recently sent which prompt blocks.
 *
 * One LRU per endpoint (lru-cache), sized to the endpoint's KV block count when known, plus a
 * reverse map from block hash to the endpoints holding it. Evicting a block from an endpoint's
 * LRU removes that endpoint from the reverse entry, so lookups never see blocks the endpoint's
 * own cache would have dropped long ago.
 */
import { LRUCache } from 'lru-cache';

/** Block-hash index per pool slot. */
export class PrefixIndexer {
  private readonly perSlot: Array<LRUCache<number, 1> | undefined> = [];
  /** Hash -> one slot (number) or several (array). */
  private readonly owners = new Map<number, number | number[]>();
  private entries = 0;

  /** Entries across all endpoints (`inference_extension_prefix_indexer_size`). */
  get size(): number {
    return this.entries;
  }

  /**
   * Walks `hashes[0..count)` in order and adds 1 to `counts[slot]` for every endpoint holding
   * each block, stopping at the first block nobody holds. Slots counted for the first time are
   * appended to `touched`; returns the new touched length.
   */
  match(hashes: Float64Array, count: number, counts: Float64Array, touched: Int32Array, touchedLen: number): number {
    const owners = this.owners;
    for (let i = 0; i < count; i++) {
      const o = owners.get(hashes[i]);
      if (o === undefined) break;
      if (typeof o === 'number') {
        if (counts[o]++ === 0) touched[touchedLen++] = o;
      } else {
        for (let k = 0; k < o.length; k++) {
          const s = o[k];
          if (counts[s]++ === 0) touched[touchedLen++] = s;
        }
      }
    }
    return touchedLen;
  }

  /** Records that `slot` now caches `hashes[0..count)`; `capacity` sizes a new endpoint's LRU. */
  add(slot: number, hashes: Float64Array, count: number, capacity: number): void {
    let lru = this.perSlot[slot];
    if (lru === undefined) {
      lru = new LRUCache<number, 1>({
        max: Math.max(1, capacity),
        dispose: (_v, hash, reason) => {
          if (reason !== 'set') this.release(hash, slot);
        },
      });
      this.perSlot[slot] = lru;
    }
    for (let i = 0; i < count; i++) {
      const h = hashes[i];
      if (lru.get(h) !== undefined) continue; // present: get() refreshed its recency
      lru.set(h, 1);
      this.entries++;
      const o = this.owners.get(h);
      if (o === undefined) this.owners.set(h, slot);
      else if (typeof o === 'number') {
        if (o !== slot) this.owners.set(h, [o, slot]);
      } else if (!o.includes(slot)) o.push(slot);
    }
  }

  /** Forgets everything about `slot` (the endpoint left the pool). */
  removeSlot(slot: number): void {
    const lru = this.perSlot[slot];
    if (lru === undefined) return;
    this.perSlot[slot] = undefined;
    lru.clear(); // dispose runs with reason 'delete' and releases every hash
  }

  private release(hash: number, slot: number): void {
    this.entries--;
    const o = this.owners.get(hash);
    if (o === undefined) return;
    if (typeof o === 'number') {
      if (o === slot) this.owners.delete(hash);
      return;
    }
    const i = o.indexOf(slot);
    if (i >= 0) o.splice(i, 1);
    if (o.length === 1) this.owners.set(hash, o[0]);
    else if (o.length === 0) this.owners.delete(hash);
  }
}
