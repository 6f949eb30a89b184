/** The cache-and-deadline wrapper, and the vLLM `/tokenize` backend against the simulator's real endpoint. */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { PromptTokenizer, type PromptSource } from '../../../src/request/tokenization/prompt-tokenizer.js';
import { VllmTokenizer } from '../../../src/request/tokenization/vllm-tokenizer.js';
import { SimPod } from '../../../src/sim/pod/server.js';
import { renderChat } from '../../../src/workload/chat-template.js';
import { tokenize } from '../../../src/workload/tokenizer.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await (cleanups.pop() as () => Promise<void>)();
});

/** The prompt range of `body`'s `key` value. */
function source(body: Record<string, unknown>, key: 'prompt' | 'messages', model = 'm'): PromptSource {
  const buf = Buffer.from(JSON.stringify(body));
  const start = buf.indexOf(`"${key}":`) + key.length + 3;
  const value = JSON.stringify(body[key]);
  return { body: buf, promptStart: start, promptEnd: start + Buffer.byteLength(value), model };
}

describe('PromptTokenizer', () => {
  it("gets the engine's own token ids from /tokenize (completions and chat), then from its cache", async () => {
    const pod = await SimPod.start();
    cleanups.push(() => pod.close());
    const t = new PromptTokenizer(new VllmTokenizer(() => pod.url), { timeoutMs: 5000, cacheTokens: 10_000 });
    const text = 'the quick brown fox jumps over the lazy dog';
    const m = pod.modelName;
    const a = await t.tokenize(source({ model: m, prompt: text }, 'prompt', m));
    expect(a.ok && Array.from(a.tokens)).toEqual(Array.from(tokenize(text)));
    const messages = [{ role: 'user', content: text }];
    const b = await t.tokenize(source({ model: m, messages }, 'messages', m));
    expect(b.ok && Array.from(b.tokens)).toEqual(Array.from(tokenize(renderChat(messages))));
    await t.tokenize(source({ model: m, prompt: text }, 'prompt', m));
    expect(t.stats).toMatchObject({ requests: 3, cacheHits: 1 });
  });

  it('passes token-id prompts through and counts unsupported prompts and missing tokenizers', async () => {
    const none = new PromptTokenizer(null, { timeoutMs: 10, cacheTokens: 10 });
    const ids = await none.tokenize(source({ prompt: [5, 6, 7] }, 'prompt'));
    expect(ids.ok && Array.from(ids.tokens)).toEqual([5, 6, 7]);
    expect(await none.tokenize(source({ prompt: 'x' }, 'prompt'))).toEqual({ ok: false, reason: 'no_tokenizer' });
    expect(await none.tokenize(source({ prompt: [1.5] }, 'prompt'))).toEqual({ ok: false, reason: 'unsupported_prompt' });
    expect(none.stats.fallbacks).toMatchObject({ no_tokenizer: 1, unsupported_prompt: 1 });
  });

  it('gives up at the deadline and on server errors, counted', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/slow/tokenize') setTimeout(() => res.end('{"tokens":[1]}'), 500).unref();
      else res.writeHead(500).end('boom');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const slow = new PromptTokenizer(new VllmTokenizer(() => `${base}/slow`), { timeoutMs: 30, cacheTokens: 10 });
    expect(await slow.tokenize(source({ prompt: 'a' }, 'prompt'))).toEqual({ ok: false, reason: 'timeout' });
    const failing = new PromptTokenizer(new VllmTokenizer(() => base), { timeoutMs: 2000, cacheTokens: 10 });
    expect(await failing.tokenize(source({ prompt: 'a' }, 'prompt'))).toEqual({ ok: false, reason: 'error' });
  });
});
