/**
 * OpenAI-compatible API shapes, selected by the request path's suffix as the reference does
 * (`:path`, falling back to completions).
 */

/** The API a request body follows. */
export type ApiType = 'completions' | 'chat-completions' | 'embeddings' | 'responses' | 'conversations';

/** The API for `path` (query string ignored); completions when nothing matches. */
export function apiFromPath(path: string): ApiType {
  const q = path.indexOf('?');
  const p = q >= 0 ? path.slice(0, q) : path;
  if (p.endsWith('/chat/completions')) return 'chat-completions';
  if (p.endsWith('/completions')) return 'completions';
  if (p.endsWith('/embeddings')) return 'embeddings';
  if (p.endsWith('/responses')) return 'responses';
  if (p.endsWith('/conversations')) return 'conversations';
  return 'completions';
}
