/**
 * The precise prefix-cache index: which endpoint holds which block, as its KV events say.
 *
 * Per endpoint (pool slot): the engine's block hashes (opaque ids) mapped to Switchboard's own
 * block keys (block-keys.ts), in insertion order so the oldest can be dropped when the endpoint
 * holds more than its KV block count (a missed removal must not grow memory without bound).
 * Shared: block key → the slots holding it, which a request's keys are matched against.
 *
 * Only the GPU tier is indexed (medium absent or "GPU"): a CPU-offloaded block still costs a
 * transfer, and offload connectors sometimes send no tokens.
 */
import { foldString, hashTokens, rootKey } from './block-keys.js';
import type { BlockRemoved, BlockStored, KvEvent } from './decode.js';

/** Why an event (or part of one) was not applied. */
export type SkipReason = 'unknown_parent' | 'other_medium' | 'block_size_mismatch';

/** What applying events did, for counters. */
export interface ApplyCounts {
  stored: number;
  removed: number;
  cleared: number;
  skipped: Record<SkipReason, number>;
  /** Blocks dropped because the endpoint exceeded its block count. */
  overCapacity: number;
}

/** One endpoint's blocks. */
class EndpointBlocks {
  /** Engine hash → block key; Map order = age (a re-stored block moves to the end). */
  readonly byEngine = new Map<number, number>();
  /** Block key → how many engine blocks of this endpoint carry it. */
  readonly refs = new Map<number, number>();
  /** Block size the endpoint's events use (0 until the first store). */
  blockSize = 0;
}

function isGpu(medium: string | null): boolean {
  return medium === null || medium === 'GPU' || medium === 'gpu';
}

export class PreciseIndex {
  private readonly endpoints: Array<EndpointBlocks | undefined> = [];
  private readonly holders = new Map<number, number[]>();
  /** Adapter names seen in events: a request for one of them is keyed from its root. */
  private readonly adapters = new Map<string, number>();
  readonly counts: ApplyCounts = {
    stored: 0,
    removed: 0,
    cleared: 0,
    skipped: { unknown_parent: 0, other_medium: 0, block_size_mismatch: 0 },
    overCapacity: 0,
  };

  /** @param capacityOf the most blocks `slot` may hold (its `num_gpu_blocks`). */
  constructor(private readonly capacityOf: (slot: number) => number) {}

  /** Distinct block keys held by any endpoint. */
  get keys(): number {
    return this.holders.size;
  }

  /** Blocks `slot` holds. */
  blocksOf(slot: number): number {
    return this.endpoints[slot]?.byEngine.size ?? 0;
  }

  /** Block size `slot`'s events use (0 unknown). */
  blockSizeOf(slot: number): number {
    return this.endpoints[slot]?.blockSize ?? 0;
  }

  /** Whether events named adapter `name`. */
  knowsAdapter(name: string): boolean {
    return this.adapters.has(name);
  }

  /** Applies one event from `slot`. */
  apply(slot: number, e: KvEvent): void {
    if (e.type === 'stored') this.store(slot, e);
    else if (e.type === 'removed') this.remove(slot, e);
    else {
      this.counts.cleared++;
      this.clear(slot);
    }
  }

  /** Forgets everything `slot` holds (cleared, restarted, unreliable, or gone). */
  clear(slot: number): void {
    const ep = this.endpoints[slot];
    if (ep === undefined) return;
    for (const key of ep.refs.keys()) this.dropHolder(key, slot);
    this.endpoints[slot] = undefined;
  }

  /**
   * For a request's `keys[0..n)`: sets `counts[slot]` to the number of leading blocks each slot
   * holds, for every slot holding block 0; appends those slots to `touched` and returns its new
   * length. Slots not touched keep `counts` 0 (callers reset the touched ones after reading).
   */
  match(keys: Float64Array, n: number, counts: Float64Array, touched: Int32Array): number {
    if (n === 0) return 0;
    const first = this.holders.get(keys[0]);
    if (first === undefined) return 0;
    let len = 0;
    for (let k = 0; k < first.length && len < touched.length; k++) {
      touched[len++] = first[k];
      counts[first[k]] = 1;
    }
    for (let i = 1; i < n; i++) {
      const hs = this.holders.get(keys[i]);
      if (hs === undefined) break;
      let any = false;
      for (let k = 0; k < hs.length; k++) {
        const s = hs[k];
        if (counts[s] === i) {
          counts[s] = i + 1;
          any = true;
        }
      }
      if (!any) break;
    }
    return len;
  }

  private endpoint(slot: number): EndpointBlocks {
    let ep = this.endpoints[slot];
    if (ep === undefined) this.endpoints[slot] = ep = new EndpointBlocks();
    return ep;
  }

  private store(slot: number, e: BlockStored): void {
    if (!isGpu(e.medium)) {
      this.counts.skipped.other_medium++;
      return;
    }
    const ep = this.endpoint(slot);
    if (ep.blockSize !== 0 && ep.blockSize !== e.blockSize) {
      // A reconfigured engine restarts, and a restart resets the endpoint first: this is noise.
      this.counts.skipped.block_size_mismatch++;
      return;
    }
    ep.blockSize = e.blockSize;
    const adapter = e.loraName ?? '';
    if (adapter !== '' && !this.adapters.has(adapter)) {
      if (this.adapters.size >= 4096) this.adapters.clear();
      this.adapters.set(adapter, 1);
    }
    let parent: number | undefined = e.parent === null ? rootKey(adapter) : ep.byEngine.get(e.parent);
    if (parent === undefined) {
      // The parent's store was missed (lost event or joined late): the chain cannot be keyed.
      this.counts.skipped.unknown_parent++;
      return;
    }
    const bs = e.blockSize;
    const cap = Math.max(1, this.capacityOf(slot));
    for (let i = 0; i < e.hashes.length; i++) {
      let extra = e.extraKeys?.[i] ?? null;
      // Newer releases repeat the adapter name in the extra keys; the root already carries it.
      if (extra !== null && adapter !== '' && extra.startsWith(`${adapter}\u0000`)) extra = extra.slice(adapter.length + 1);
      const seed = extra !== null && extra !== '' ? foldString(extra, parent) : parent;
      const key = hashTokens(e.tokens, i * bs, bs, seed);
      this.put(ep, slot, e.hashes[i], key);
      parent = key;
      this.counts.stored++;
    }
    while (ep.byEngine.size > cap) {
      const oldest = ep.byEngine.keys().next().value as number;
      this.unput(ep, slot, oldest);
      this.counts.overCapacity++;
    }
  }

  private remove(slot: number, e: BlockRemoved): void {
    if (!isGpu(e.medium)) return;
    const ep = this.endpoints[slot];
    if (ep === undefined) return;
    for (const h of e.hashes) if (this.unput(ep, slot, h)) this.counts.removed++;
  }

  private put(ep: EndpointBlocks, slot: number, engine: number, key: number): void {
    if (ep.byEngine.has(engine)) this.unput(ep, slot, engine);
    ep.byEngine.set(engine, key);
    const r = ep.refs.get(key) ?? 0;
    ep.refs.set(key, r + 1);
    if (r === 0) {
      const hs = this.holders.get(key);
      if (hs === undefined) this.holders.set(key, [slot]);
      else hs.push(slot);
    }
  }

  private unput(ep: EndpointBlocks, slot: number, engine: number): boolean {
    const key = ep.byEngine.get(engine);
    if (key === undefined) return false;
    ep.byEngine.delete(engine);
    const r = (ep.refs.get(key) ?? 1) - 1;
    if (r > 0) ep.refs.set(key, r);
    else {
      ep.refs.delete(key);
      this.dropHolder(key, slot);
    }
    return true;
  }

  private dropHolder(key: number, slot: number): void {
    const hs = this.holders.get(key);
    if (hs === undefined) return;
    const i = hs.indexOf(slot);
    if (i >= 0) {
      hs[i] = hs[hs.length - 1];
      hs.pop();
    }
    if (hs.length === 0) this.holders.delete(key);
  }
}
