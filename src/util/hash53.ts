/**
 * The shared parts of Switchboard's two chained 53-bit block hashes (the approximate prefix index
 * over prompt bytes, `scheduling/prefix/hash.ts`, and the precise index over token ids,
 * `datalayer/kv-events/block-keys.ts`): the multipliers, the lane rotation and the final avalanche.
 * Each caller keeps its own loop, so its hot path stays one monomorphic integer loop. The
 * approximate prefix hash (on every pick) keeps its own copy of the constants and rotl for its
 * inner loop (imported there they measured 1.3x slower) and shares only the avalanche.
 *
 * Constants are int32 so every step stays in V8's integer representation (a double creeping in
 * made hashing 5x slower in the prefix benchmark).
 */

export const P1 = 0x9e3779b1 | 0;
export const P2 = 0x85ebca77 | 0;
export const P3 = 0xc2b2ae3d | 0;
export const TWO32 = 4294967296;

export function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** Finishes two 32-bit lanes after `len` inputs: each lane avalanched and mixed into the other, as one 53-bit number. */
export function avalanche53(h1: number, h2: number, len: number): number {
  h1 ^= len;
  h2 ^= Math.imul(len, P3);
  h1 = Math.imul(h1 ^ (h1 >>> 15), P2);
  h1 = Math.imul(h1 ^ (h1 >>> 13), P3);
  h2 = Math.imul(h2 ^ (h2 >>> 16), P2);
  h2 = Math.imul(h2 ^ (h2 >>> 13), P3);
  h1 ^= h2 >>> 16;
  h2 ^= h1 >>> 15;
  return (h2 & 0x1fffff) * TWO32 + (h1 >>> 0);
}
