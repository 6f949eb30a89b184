import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/loadgen/sse.js';

describe('SSE parser', () => {
  it('emits events split across chunks and several events in one chunk', () => {
    const p = new SseParser();
    const got: string[] = [];
    const on = (d: string) => got.push(d);
    p.push('data: {"a":', on);
    p.push('1}\n', on);
    p.push('\ndata: {"b":2}\n\ndata: [DONE]\n\n', on);
    expect(got).toEqual(['{"a":1}', '{"b":2}', '[DONE]']);
  });

  it('handles CRLF, comments, multi-byte characters split across chunks and a missing final blank line', () => {
    const p = new SseParser();
    const got: string[] = [];
    const on = (d: string) => got.push(d);
    const bytes = Buffer.from(': keep-alive\r\ndata: héllo\r\n\r\ndata: tail');
    const cut = bytes.indexOf(0xa9); // inside the two-byte "é"
    p.push(bytes.subarray(0, cut), on);
    p.push(bytes.subarray(cut), on);
    p.end(on);
    expect(got).toEqual(['héllo', 'tail']);
  });
});
