/**
 * Switchboard's own block keys: a chained 53-bit hash of each full block's token ids.
 *
 * Both sides compute them the same way: the index from the `token_ids` a `BlockStored` event
 * carries, a request from its prompt's token ids. So no vLLM hash algorithm, seed or
 * `PYTHONHASHSEED` has to match (llm-d decoupled its keys the same way); the engine's own hashes
 * are kept only as opaque ids for removals and parent lookups.
 *
 * key(block i) = H(tokens of block i, seed = key(block i-1) ⊕ extra_i), key(-1) = root(adapter),
 * where extra_i is the block's extra keys (cache salt on block 0) folded in when present.
 */
import { avalanche53, P1, P2, P3, rotl, TWO32 } from '../../util/hash53.js';

/** Hashes `tokens[start, start+len)` with a 53-bit seed into a 53-bit key. */
export function hashTokens(tokens: Int32Array, start: number, len: number, seed: number): number {
  let h1 = (seed | 0) ^ P1;
  let h2 = (Math.floor(seed / TWO32) | 0) ^ P3;
  const end = start + len;
  for (let i = start; i < end; i++) {
    const t = tokens[i];
    h1 = Math.imul(rotl(h1 ^ t, 15), P1);
    h2 = Math.imul(rotl((h2 + t) | 0, 11), P2);
  }
  return avalanche53(h1, h2, len);
}

/** Folds a string (an adapter name, a cache salt, extra keys) into a 53-bit seed. */
export function foldString(s: string, seed: number): number {
  const codes = new Int32Array(s.length);
  for (let i = 0; i < s.length; i++) codes[i] = s.charCodeAt(i);
  return hashTokens(codes, 0, codes.length, seed ^ 0x5bd1e995);
}

const roots = new Map<string, number>();

/** The chain's root for an adapter ('' = the base model), memoized (bounded: names come from the wire). */
export function rootKey(adapter: string): number {
  let r = roots.get(adapter);
  if (r === undefined) {
    r = foldString(adapter, 0x2545f491);
    if (roots.size >= 4096) roots.clear();
    roots.set(adapter, r);
  }
  return r;
}

/**
 * Writes the keys of the first `blocks` full blocks of `tokens` into `out` and returns how many:
 * chained from `root`, with `salt` (the cache salt, '' for none) folded into block 0.
 */
export function requestKeys(tokens: Int32Array, blockSize: number, blocks: number, root: number, salt: string, out: Float64Array): number {
  const n = Math.min(blocks, Math.floor(tokens.length / blockSize), out.length);
  let parent = root;
  for (let b = 0; b < n; b++) {
    const seed = b === 0 && salt !== '' ? foldString(`${salt}\u0000`, parent) : parent;
    parent = hashTokens(tokens, b * blockSize, blockSize, seed);
    out[b] = parent;
  }
  return n;
}
