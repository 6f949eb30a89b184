/** The local tokenizer: tokenizer.json + chat template, inline and on the worker thread. */
import { afterEach, describe, expect, it } from 'vitest';
import { HfTokenizer } from '../../../src/request/tokenization/hf-tokenizer.js';
import { TINY_TOKENIZER_DIR } from '../../support/fixtures.js';

const open: HfTokenizer[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

function tokenizer(inlineChars = 1 << 20): HfTokenizer {
  const t = new HfTokenizer({ dir: TINY_TOKENIZER_DIR, inlineChars });
  open.push(t);
  return t;
}

describe('HfTokenizer', () => {
  it('encodes a completion prompt with the BOS token and a chat through the chat template', async () => {
    const t = tokenizer();
    const text = await t.tokenize({ kind: 'text', text: 'hello world' });
    expect(text.ok && Array.from(text.tokens)).toEqual(Array.from(t.encode('hello world', true)));
    const bos = t.encode('', true)[0];
    expect(text.ok && text.tokens[0]).toBe(bos);
    const chat = await t.tokenize({ kind: 'chat', messages: [{ role: 'user', content: 'hello' }] });
    const rendered = t.render({ kind: 'chat', messages: [{ role: 'user', content: 'hello' }] });
    expect(rendered?.text).toBe('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
    // The template brings its own BOS: exactly one.
    expect(chat.ok && Array.from(chat.tokens).filter((id) => id === bos)).toEqual([bos]);
  });

  it('encodes long prompts on the worker thread with the same ids as inline', async () => {
    const text = 'hello world the end '.repeat(3300); // ~64 KB
    const inline = await tokenizer().tokenize({ kind: 'text', text });
    const worker = tokenizer(1024);
    const off = worker.tokenize({ kind: 'text', text });
    expect(off).toBeInstanceOf(Promise);
    const r = await off;
    expect(r.ok && inline.ok && Buffer.from(r.tokens.buffer).equals(Buffer.from(inline.tokens.buffer))).toBe(true);
  });

  it('refuses a directory without the files, naming the file', () => {
    expect(() => new HfTokenizer({ dir: '/nonexistent', inlineChars: 0 })).toThrow(/nonexistent\/tokenizer\.json: ENOENT/);
  });
});
