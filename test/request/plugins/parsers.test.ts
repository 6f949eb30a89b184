import { describe, expect, it } from 'vitest';
import { Params } from '../../../src/framework/params.js';
import { isRequestParser } from '../../../src/request/parser.js';
import { openaiParser, passthroughParser } from '../../../src/request/plugins/parsers.js';

describe('request parsers', () => {
  it.each([
    { factory: openaiParser, mode: 'openai', type: 'openai-parser' },
    { factory: passthroughParser, mode: 'passthrough', type: 'passthrough-parser' },
  ])('$type reads bodies as $mode', ({ factory, mode, type }) => {
    const p = factory('p', new Params('p', {}), { pool: null as never, rng: Math.random });
    expect(isRequestParser(p)).toBe(true);
    expect(p.mode).toBe(mode);
    expect(p.typedName).toEqual({ type, name: 'p' });
  });
});
