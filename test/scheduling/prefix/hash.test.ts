/**
 * The approximate index's block hash (scheduling/prefix/hash.ts): distinct blocks must get
 * distinct keys, since a collision makes the index believe a pod holds a prefix it was never sent.
 * Checked exhaustively on the small changes most likely to defeat a fast hash: every one- and
 * two-bit difference within one 128- or 256-byte block (256: the default profile's hash block),
 * in every position of the two word streams and the tail.
 */
import { describe, expect, it } from 'vitest';
import { hashBlocks, hashRange } from '../../../src/scheduling/prefix/hash.js';

/** A block of prompt-like text. */
function block(bytes: number, salt = 0): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = 97 + ((i * 7 + salt * 13 + (i >> 5)) % 26);
  return b;
}

describe('prefix block hash', () => {
  // 256 bytes: the default profile's hash block (4 KV blocks of 16 tokens); 128: two blocks.
  it.each([128, 256])('gives every one- and two-bit change of a %i-byte block its own 53-bit hash', (bytes) => {
    const b = block(bytes);
    const bits = bytes * 8;
    // Sorted in a typed array rather than a Set: 2.1 million hashes at 256 bytes.
    const all = new Float64Array(1 + bits + (bits * (bits - 1)) / 2);
    let n = 0;
    all[n++] = hashRange(b, 0, bytes, 777);
    for (let x = 0; x < bits; x++) {
      b[x >> 3] ^= 1 << (x & 7);
      all[n++] = hashRange(b, 0, bytes, 777);
      for (let y = x + 1; y < bits; y++) {
        b[y >> 3] ^= 1 << (y & 7);
        all[n++] = hashRange(b, 0, bytes, 777);
        b[y >> 3] ^= 1 << (y & 7);
      }
      b[x >> 3] ^= 1 << (x & 7);
    }
    expect(n).toBe(all.length);
    all.sort();
    let repeats = 0;
    for (let i = 1; i < n; i++) if (all[i] === all[i - 1]) repeats++;
    expect(repeats).toBe(0);
    for (let i = 0; i < 1000; i++) expect(Number.isSafeInteger(all[i * 97]) && all[i * 97] >= 0).toBe(true);
  });

  it('separates lengths that are not a whole number of word pairs, and swapped words', () => {
    const b = block(64, 3);
    const byLength = new Set<number>();
    for (let len = 1; len <= 64; len++) byLength.add(hashRange(b, 0, len, 5));
    expect(byLength.size).toBe(64);
    const swapped = Buffer.from(b);
    b.copy(swapped, 0, 4, 8); // words 0 and 1 trade places
    b.copy(swapped, 4, 0, 4);
    expect(hashRange(swapped, 0, 64, 5)).not.toBe(hashRange(b, 0, 64, 5));
  });

  it('chains blocks: equal hashes at block i mean equal prefixes up to it', () => {
    const a = Buffer.concat([block(128, 1), block(128, 2), block(128, 3)]);
    const b = Buffer.concat([block(128, 1), block(128, 9), block(128, 3)]);
    const ha = new Float64Array(3);
    const hb = new Float64Array(3);
    expect(hashBlocks(a, 0, a.length, 128, 3, 11, ha)).toBe(3);
    expect(hashBlocks(b, 0, b.length, 128, 3, 11, hb)).toBe(3);
    expect(hb[0]).toBe(ha[0]);
    expect(hb[1]).not.toBe(ha[1]);
    expect(hb[2]).not.toBe(ha[2]); // the third blocks are equal, their prefixes are not
  });
});
