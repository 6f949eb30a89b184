/**
 * The request parser contract: how the director reads a request body. `openai` inspects the JSON
 * (model, prompt, stream); `passthrough` routes on headers alone without reading the body. The
 * Go EPP's `openai-parser` / `passthrough-parser` plugin types implement it (request/plugins).
 */
import type { Plugin } from '../framework/plugin.js';

export type ParserMode = 'openai' | 'passthrough';

export interface RequestParser extends Plugin {
  readonly mode: ParserMode;
}

export function isRequestParser(p: Plugin): p is RequestParser {
  const m = (p as Partial<RequestParser>).mode;
  return m === 'openai' || m === 'passthrough';
}
