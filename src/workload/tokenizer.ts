/**
 * A deterministic, cheap stand-in for a real tokenizer.
 *
 * Rule: a token starts at the beginning of the text, at every non-space character that follows
 * whitespace, and after 4 characters without a boundary. English-like text therefore averages
 * about 4 characters per token, and, because boundaries depend only on nearby characters, the
 * tokens of a text are a prefix of the tokens of any text that extends it after whitespace. That
 * is what prefix caching needs: the same system prompt always gives the same KV blocks.
 *
 * Token ids are 31-bit hashes of the token's characters, so equal pieces get equal ids.
 */
import { Rng } from '../util/random.js';

const MAX_TOKEN_CHARS = 4;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

let scratch = new Int32Array(1024);

/** Token ids of `text`. */
export function tokenize(text: string): Int32Array {
  const n = text.length;
  if (scratch.length < n) scratch = new Int32Array(Math.max(n, scratch.length * 2));
  const out = scratch;
  let count = 0;
  let h = 0x811c9dc5;
  let len = 0;
  let prevSpace = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const space = isSpace(c);
    if (len > 0 && (len === MAX_TOKEN_CHARS || (prevSpace && !space))) {
      out[count++] = h & 0x7fffffff;
      h = 0x811c9dc5;
      len = 0;
    }
    h = Math.imul(h ^ c, 0x01000193);
    len++;
    prevSpace = space;
  }
  if (len > 0) out[count++] = h & 0x7fffffff;
  return out.slice(0, count);
}

/** Number of tokens in `text` (same rule as `tokenize`, without building the ids). */
export function countTokens(text: string): number {
  let count = 0;
  let len = 0;
  let prevSpace = false;
  for (let i = 0; i < text.length; i++) {
    const space = isSpace(text.charCodeAt(i));
    if (len > 0 && (len === MAX_TOKEN_CHARS || (prevSpace && !space))) {
      count++;
      len = 0;
    }
    len++;
    prevSpace = space;
  }
  return len > 0 ? count + 1 : count;
}

// Synthetic text is made of three-letter lowercase words followed by a space: exactly one token
// each. The token ids of the 26^3 words are tabulated once.
const WORDS = 26 * 26 * 26;
let wordIds: Int32Array | null = null;

function words(): Int32Array {
  if (wordIds === null) {
    wordIds = new Int32Array(WORDS);
    for (let i = 0; i < WORDS; i++) {
      const w = String.fromCharCode(97 + Math.floor(i / 676), 97 + (Math.floor(i / 26) % 26), 97 + (i % 26)) + ' ';
      wordIds[i] = tokenize(w)[0];
    }
  }
  return wordIds;
}

/** Text of exactly `tokens` tokens, determined by `seed` alone. */
export function synthText(seed: number, tokens: number): string {
  words();
  const rng = new Rng(seed);
  // Writing ASCII bytes and decoding once is much cheaper than joining thousands of strings.
  const buf = Buffer.allocUnsafe(tokens * 4);
  for (let i = 0, o = 0; i < tokens; i++, o += 4) {
    const w = rng.nextU32() % WORDS;
    buf[o] = 97 + Math.floor(w / 676);
    buf[o + 1] = 97 + (Math.floor(w / 26) % 26);
    buf[o + 2] = 97 + (w % 26);
    buf[o + 3] = 32;
  }
  return buf.toString('latin1');
}

/** Token ids of `synthText(seed, tokens)`, written into `out` at `offset`, without the text. */
export function synthTokenIds(seed: number, tokens: number, out: Int32Array, offset: number): void {
  const ids = words();
  const rng = new Rng(seed);
  for (let i = 0; i < tokens; i++) out[offset + i] = ids[rng.nextU32() % WORDS];
}

/** The text of each token of `text` (same boundaries as `tokenize`); their concatenation is `text`. */
export function tokenPieces(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let len = 0;
  let prevSpace = false;
  for (let i = 0; i < text.length; i++) {
    const space = isSpace(text.charCodeAt(i));
    if (len > 0 && (len === MAX_TOKEN_CHARS || (prevSpace && !space))) {
      out.push(text.slice(start, i));
      start = i;
      len = 0;
    }
    len++;
    prevSpace = space;
  }
  if (len > 0) out.push(text.slice(start));
  return out;
}

let wordById: Map<number, string> | null = null;

/** The synthetic word (`"abc "`) whose token id is `id`, or undefined: what generated text detokenizes from. */
export function synthWord(id: number): string | undefined {
  if (wordById === null) {
    const ids = words();
    wordById = new Map();
    for (let i = 0; i < WORDS; i++) {
      wordById.set(ids[i], String.fromCharCode(97 + Math.floor(i / 676), 97 + (Math.floor(i / 26) % 26), 97 + (i % 26)) + ' ');
    }
  }
  return wordById.get(id);
}
