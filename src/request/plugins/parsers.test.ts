import { describe, expect, it } from 'vitest';
import { Params } from '../../framework/params.js';
import { isRequestParser } from '../parser.js';
import { openaiParser, passthroughParser } from './parsers.js';

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
