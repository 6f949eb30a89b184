import { describe, expect, it } from 'vitest';
import { ResponseObserver } from '../../src/request/response.js';

const obs = (stream: boolean, incoming = 'm', target = 'm') => {
  let t = 0;
  return new ResponseObserver(stream, incoming, target, () => ++t);
};
const sse = (...events: object[]) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';

describe('response observer', () => {
  it('reads usage from the final chunk of a stream, split anywhere, and forwards chunks untouched', () => {
    const text = sse({ choices: [{ text: 'a' }], usage: null }, { choices: [], usage: { prompt_tokens: 7, total_tokens: 17, completion_tokens: 10 } });
    for (let cut = 1; cut < text.length; cut += 7) {
      const o = obs(true);
      const a = Buffer.from(text.slice(0, cut));
      const b = Buffer.from(text.slice(cut));
      expect(o.chunk(a, false)).toBe(a);
      expect(o.chunk(b, false)).toBe(b);
      expect(o.chunk(Buffer.alloc(0), true)?.length).toBe(0);
      // No prompt_tokens_details: cached tokens not reported (-1), which is not "none cached" (0).
      expect(o.usage).toEqual({ promptTokens: 7, completionTokens: 10, totalTokens: 17, cachedTokens: -1 });
    }
  });

  it('reads usage of a JSON body, including cached tokens, and of a Responses API stream', () => {
    const o = obs(false);
    const body = JSON.stringify({ object: 'chat.completion', usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: { cached_tokens: 2 } } });
    expect(o.chunk(Buffer.from(body.slice(0, 10)), false)?.toString()).toBe(body.slice(0, 10));
    o.chunk(Buffer.from(body.slice(10)), true);
    expect(o.usage).toEqual({ promptTokens: 3, completionTokens: 4, totalTokens: 7, cachedTokens: 2 });
    const zero = obs(false);
    zero.chunk(Buffer.from(JSON.stringify({ usage: { prompt_tokens: 3, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 0 } } })), true);
    expect(zero.usage?.cachedTokens).toBe(0);
    const r = obs(true);
    r.chunk(Buffer.from('event: response.completed\ndata: {"type":"response.completed","response":{"usage":{"input_tokens":5,"output_tokens":6}}}\n\n'), true);
    expect(r.usage).toMatchObject({ promptTokens: 5, completionTokens: 6, totalTokens: 11 });
  });

  it('switches to stream handling on an SSE content type', () => {
    const o = obs(false);
    o.headers('text/event-stream; charset=utf-8');
    expect(o.isStreaming).toBe(true);
  });

  it('maps a rewritten model back in streams, even when the name is split across chunks', () => {
    const o = obs(true, 'alias', 'real-model-7');
    const text = sse({ model: 'real-model-7', choices: [{ text: 'x' }] }, { model: 'real-model-7', choices: [] });
    const cut = text.indexOf('real-model') + 4;
    const out = [o.chunk(Buffer.from(text.slice(0, cut)), false), o.chunk(Buffer.from(text.slice(cut)), true)];
    const joined = Buffer.concat(out.filter((b): b is Buffer => b !== null)).toString();
    expect(joined).not.toContain('real-model-7');
    expect(joined.split('"model":"alias"').length - 1).toBe(2);
  });

  it('holds and rewrites a non-streamed body, and passes garbage through', () => {
    const o = obs(false, 'alias', 'real');
    expect(o.chunk(Buffer.from('{"model": "re'), false)).toBeNull();
    expect(o.chunk(Buffer.from('al","x":1}'), true)?.toString()).toBe('{"model": "alias","x":1}');
    const g = obs(false);
    expect(g.chunk(Buffer.from('<html>oops'), true)?.toString()).toBe('<html>oops');
    expect(g.usage).toBeNull();
  });

  it('tolerates malformed events and absent usage', () => {
    const o = obs(true);
    o.chunk(Buffer.from('data: {"usage": broken\n\ndata: {"choices":[],"usage":null}\n\n'), true);
    expect(o.usage).toBeNull();
    expect(o.bytes).toBeGreaterThan(0);
    expect(o.firstByteAt).toBe(1);
  });
});
