import { describe, expect, it } from 'vitest';
import { countTokens, synthText, synthTokenIds, tokenize } from '../../src/workload/tokenizer.js';

describe('tokenizer', () => {
  it('splits at word starts and every 4 characters', () => {
    expect(tokenize('abc def').length).toBe(2);
    expect(tokenize('abcdefgh').length).toBe(2);
    expect(tokenize('abcdefghi').length).toBe(3);
    expect(tokenize('').length).toBe(0);
    expect(countTokens('Hello, world! How are you?')).toBe(tokenize('Hello, world! How are you?').length);
  });

  it('gives equal ids to equal pieces', () => {
    const t = tokenize('abc abc abc ');
    expect(t[0]).toBe(t[1]);
    expect(t[1]).toBe(t[2]);
  });

  it('is prefix-stable when text is extended after whitespace', () => {
    const base = 'System: you are a helpful assistant.\n';
    const a = tokenize(base);
    const b = tokenize(base + 'What is the capital of France?');
    expect([...b.slice(0, a.length)]).toEqual([...a]);
  });

  it('makes synthetic text of exactly the requested token count, matching synthTokenIds', () => {
    for (const n of [0, 1, 17, 1000]) {
      const text = synthText(99, n);
      const ids = tokenize(text);
      expect(ids.length).toBe(n);
      const out = new Int32Array(n + 3);
      synthTokenIds(99, n, out, 3);
      expect([...out.slice(3)]).toEqual([...ids]);
    }
    expect(synthText(1, 50)).toBe(synthText(1, 50));
    expect(synthText(1, 50)).not.toBe(synthText(2, 50));
  });
});
