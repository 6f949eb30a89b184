/**
 * Chained block hashes over the prompt bytes, for the approximate prefix-cache index.
 *
 * Each block's hash is seeded with the previous block's hash (the first with a hash of the
 * model and cache salt), so equal hashes mean equal prefixes up to and including that block,
 * as in vLLM's own block hashing. The hash is 53 bits wide so it is an exact JS number and a
 * cheap table key: two 32-bit lanes of rotate-multiply rounds over little-endian words, avalanched.
 *
 * Why hand-written: the hashes are computed per block straight from the request Buffer, with
 * no copy or decode and no per-block call across a WASM or N-API boundary; measured on this
 * machine that boundary costs more per 64-byte block than the hashing itself (bench/RESULTS.md).
 */

import { avalanche53 } from '../../util/hash53.js';

// Constants as int32 so every step stays in V8's integer representation (a double creeping in
// made hashing 5x slower in the benchmark). The loop's constants and rotl are module locals rather
// than imported from util/hash53.ts: imported into the loop they made it 1.3x slower (3.4-4.0
// against 4.4-5.5 µs per 4.5 KB prompt). The once-per-block avalanche is shared (measured no slower).
const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const TWO32 = 4294967296;

/** Hashes `b[start, end)` with a 53-bit `seed`; returns a 53-bit hash. */
export function hashRange(b: Uint8Array, start: number, end: number, seed: number): number {
  return hashView(new DataView(b.buffer, b.byteOffset, b.byteLength), start, end, seed);
}

/**
 * The hash over a DataView: one little-endian word load per step. Reading words through a
 * DataView measured ~25% faster here than assembling them from four byte loads, and keeps the
 * loop monomorphic whatever Uint8Array subclass the bytes arrive in.
 *
 * Two chains of two 32-bit lanes: chain A takes the even words, chain B the odd ones, and each
 * word goes through both lanes of its chain with one multiply each, so a change anywhere moves
 * 64 bits of state (four accumulators over stripes, xxh32's shape, kept only 32 bits for a change
 * confined to one word, and collided accordingly). The chains are independent, so the CPU runs
 * them side by side: 2.0-2.4 against 2.8-3.7 µs per 4 KB with one chain over every word. B folds
 * into A in two multiply rounds per lane at the end of the block; with one round, two-bit
 * flips of a 128-byte block collided (3 in 523,776), with two none did (nor with one chain, nor
 * over the 2.1 million of a 256-byte block, the default profile's).
 */
function hashView(v: DataView, start: number, end: number, seed: number): number {
  const lo = seed | 0;
  const hi = Math.floor(seed / TWO32) | 0;
  let a1 = lo ^ P4;
  let a2 = hi ^ P3;
  let b1 = lo ^ P2;
  let b2 = hi ^ P1;
  let i = start;
  const pairs = end - 7;
  while (i < pairs) {
    const w0 = v.getInt32(i, true);
    const w1 = v.getInt32(i + 4, true);
    a1 = Math.imul(rotl(a1 ^ w0, 15), P1);
    a2 = Math.imul(rotl((a2 + w0) | 0, 11), P2);
    b1 = Math.imul(rotl(b1 ^ w1, 13), P3);
    b2 = Math.imul(rotl((b2 + w1) | 0, 17), P4);
    i += 8;
  }
  if (i + 3 < end) {
    const w = v.getInt32(i, true);
    a1 = Math.imul(rotl(a1 ^ w, 15), P1);
    a2 = Math.imul(rotl((a2 + w) | 0, 11), P2);
    i += 4;
  }
  while (i < end) {
    const c = v.getUint8(i);
    a1 = Math.imul(rotl(a1 ^ c, 15), P1);
    a2 = Math.imul(rotl((a2 + c) | 0, 11), P2);
    i++;
  }
  a1 = Math.imul(rotl(a1 ^ b1, 15), P1);
  a2 = Math.imul(rotl((a2 + b2) | 0, 11), P2);
  a1 = Math.imul(rotl((a1 + b2) | 0, 13), P3);
  a2 = Math.imul(rotl(a2 ^ b1, 17), P4);
  return avalanche53(a1, a2, end - start);
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

const encoder = new TextEncoder();

const seeds = new Map<string, number>();

/** The chain's seed: a hash of the target model and the cache salt (memoized: a handful of models recur). */
export function seedHash(model: string, cacheSalt: string): number {
  const key = cacheSalt === '' ? model : `${model}\u0000${cacheSalt}`;
  let seed = seeds.get(key);
  if (seed === undefined) {
    const bytes = encoder.encode(key);
    seed = hashRange(bytes, 0, bytes.length, 0);
    // Model names and salts come from clients: keep the memo bounded.
    if (seeds.size >= 4096) seeds.clear();
    seeds.set(key, seed);
  }
  return seed;
}

/**
 * Writes the chained hashes of `b[start, end)` in blocks of `blockBytes` into `out` (at most
 * `maxBlocks`, and at most `out.length`) and returns how many were written. A trailing partial
 * block is hashed too; input shorter than one block gives no hashes.
 */
export function hashBlocks(
  b: Uint8Array,
  start: number,
  end: number,
  blockBytes: number,
  maxBlocks: number,
  seed: number,
  out: Float64Array,
): number {
  if (end - start < blockBytes || blockBytes <= 0) return 0;
  const limit = Math.min(maxBlocks, out.length);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let prev = seed;
  let n = 0;
  for (let pos = start; pos < end && n < limit; pos += blockBytes) {
    prev = hashView(view, pos, Math.min(end, pos + blockBytes), prev);
    out[n++] = prev;
  }
  return n;
}
