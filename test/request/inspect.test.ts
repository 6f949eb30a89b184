import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspectRequest, rewriteModel, type RequestView } from '../../src/request/inspect.js';
import { isSwitchboardError } from '../../src/errors.js';

const ok = (body: string | Buffer, path = '/v1/completions'): RequestView => {
  const v = inspectRequest(typeof body === 'string' ? Buffer.from(body) : body, path);
  if (isSwitchboardError(v)) throw v;
  return v;
};
const err = (body: string | Buffer, path = '/v1/completions'): string => {
  const v = inspectRequest(typeof body === 'string' ? Buffer.from(body) : body, path);
  if (!isSwitchboardError(v)) throw new Error('expected an error');
  return `${v.status} ${v.message}`;
};

describe('request inspection', () => {
  it('finds model, stream, max_tokens, cache_salt and the prompt bytes', () => {
    const body = '{"model":"m1","prompt":"hello \\"world\\"","stream":true,"max_tokens":12,"cache_salt":"s"}';
    const v = ok(body);
    expect(v).toMatchObject({ api: 'completions', model: 'm1', stream: true, maxTokens: 12, cacheSalt: 's' });
    expect(body.slice(v.promptStart, v.promptEnd)).toBe('hello \\"world\\"');
    expect(body.slice(v.modelStart, v.modelEnd)).toBe('"m1"');
  });

  it('takes the messages array as sent for chat, and input for responses and embeddings', () => {
    const chat = '{"messages":[{"role":"user","content":"hi"}],"model":"m"}';
    const v = ok(chat, '/v1/chat/completions');
    expect(chat.slice(v.promptStart, v.promptEnd)).toBe('[{"role":"user","content":"hi"}]');
    const r = '{"model":"m","input":[{"role":"user","content":"x"}]}';
    const rv = ok(r, '/v1/responses');
    expect(r.slice(rv.promptStart, rv.promptEnd)).toBe('[{"role":"user","content":"x"}]');
    const e = ok('{"model":"m","input":"abc"}', '/v1/embeddings?x=1');
    expect(e.api).toBe('embeddings');
    expect(ok('{"model":"m","prompt":[1,2,3]}').promptEnd).toBeGreaterThan(0);
  });

  it('rejects what the reference rejects, with 400 and a reason', () => {
    expect(err('{"prompt":"hello world"}')).toBe('400 model not found in request body');
    expect(err('no healthy upstream')).toMatch(/^400 error unmarshaling request body: request body must be a JSON object/);
    expect(err('{"model":"m","messages":[]}', '/v1/chat/completions')).toMatch(/non-empty "messages"/);
    expect(err('{"model":"m"}', '/v1/chat/completions')).toMatch(/non-empty "messages"/);
    expect(err('{"model":"m"}')).toMatch(/completions require "prompt"/);
    expect(err('{"model":"m"}', '/v1/embeddings')).toMatch(/embeddings require "input"/);
    expect(err('{"model":"m"}', '/v1/conversations')).toMatch(/"items"/);
  });

  it('rejects hostile JSON clearly', () => {
    expect(err('')).toMatch(/empty request body/);
    expect(err('{"model":"a","model":"b","prompt":"x"}')).toMatch(/duplicate key "model"/);
    expect(err('{"model":"a","m\\u006fdel":"b","prompt":"x"}')).toMatch(/duplicate key "model"/);
    expect(err('{"model":7,"prompt":"x"}')).toMatch(/"model" must be a string/);
    expect(err('{"model":"m","prompt":"x","stream":"yes"}')).toMatch(/"stream" must be a boolean/);
    expect(err('{"model":"m","prompt":' + '['.repeat(500) + ']'.repeat(500) + '}')).toMatch(/nesting deeper than 128/);
    expect(err(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]))).toMatch(/not valid UTF-8/);
    expect(err('{"model":"m","prompt":"x"} trailing')).toMatch(/unexpected data after/);
    expect(err('{"model":"m","prompt":"x",}')).toMatch(/expected object key/);
    expect(err('{"model":"m","prompt":[1,,2]}')).toMatch(/unexpected character/);
    expect(err('{"model":"m","prompt":"unterminated}')).toMatch(/unterminated string/);
    expect(err('{"model":"m","prompt":01}')).toMatch(/unexpected character/);
    expect(err('{"model":"m","prompt":tru}')).toMatch(/unexpected character/);
    expect(err('[1,2]')).toMatch(/must be a JSON object/);
  });

  it('agrees with JSON.parse on validity for generated documents', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.string({ maxLength: 20 }), (extra, model) => {
        const body = JSON.stringify({ model, prompt: 'p', extra });
        const v = inspectRequest(Buffer.from(body), '/v1/completions');
        return !isSwitchboardError(v) && v.model === model;
      }),
      { numRuns: 300 },
    );
  });

  it('never accepts what JSON.parse rejects in the structure, and never throws', () => {
    // String contents are skipped, not validated (see inspect.ts): generated text has no raw
    // control characters or backslashes, the one thing the scan deliberately leaves to the server.
    const text = fc.string({ maxLength: 60, unit: fc.constantFrom(...'{}[]:,"0123456789-+.eEtrufalsn abc'.split('')) });
    fc.assert(
      fc.property(text, (s) => {
        const body = `{"model":"m","prompt":${s}}`;
        let valid = true;
        try {
          JSON.parse(body);
        } catch {
          valid = false;
        }
        const v = inspectRequest(Buffer.from(body), '/v1/completions');
        return valid === !isSwitchboardError(v) || (valid && isSwitchboardError(v) && /require|must be/.test(v.message));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        inspectRequest(Buffer.from(`{"model":"m","prompt":${s}}`), '/v1/completions');
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it('leaves raw control characters and bad escapes inside string values to the model server', () => {
    // Validating every byte of a 220 KB prompt would cost more than the whole pick; the server
    // rejects such JSON itself, and routing never reads those bytes.
    expect(() => JSON.parse('{"model":"m","prompt":"a\u0001b"}')).toThrow();
    expect(() => JSON.parse('{"model":"m","prompt":"bad \\x escape"}')).toThrow();
    expect(isSwitchboardError(inspectRequest(Buffer.from('{"model":"m","prompt":"a\u0001b"}'), '/v1/completions'))).toBe(false);
    expect(isSwitchboardError(inspectRequest(Buffer.from('{"model":"m","prompt":"bad \\x escape"}'), '/v1/completions'))).toBe(false);
  });

  it('rewrites only the model value, byte for byte elsewhere', () => {
    const body = Buffer.from('{ "prompt" : "x",\n "model" : "old" , "n":1}');
    const v = ok(body);
    expect(rewriteModel(body, v, 'new"name').toString()).toBe('{ "prompt" : "x",\n "model" : "new\\"name" , "n":1}');
  });

  it('scans a 220 KB prompt without decoding it', () => {
    const prompt = 'lorem ipsum \\"quoted\\" '.repeat(10_000);
    const body = Buffer.from(`{"model":"m","prompt":"${prompt}","max_tokens":5}`);
    const v = ok(body);
    expect(v.promptEnd - v.promptStart).toBe(Buffer.byteLength(prompt));
    expect(v.maxTokens).toBe(5);
  });
});
