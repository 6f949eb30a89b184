/** `openai-parser` and `passthrough-parser`: the two request parsers. See README.md. */
import type { Factory } from '../../framework/plugin.js';
import type { ParserMode, RequestParser } from '../parser.js';

export const OPENAI_PARSER = 'openai-parser';
export const PASSTHROUGH_PARSER = 'passthrough-parser';

function parser(type: string, mode: ParserMode): Factory<RequestParser> {
  return (name) => ({ typedName: { type, name }, mode });
}

export const openaiParser = parser(OPENAI_PARSER, 'openai');
export const passthroughParser = parser(PASSTHROUGH_PARSER, 'passthrough');
