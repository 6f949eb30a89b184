/**
 * The plain text of a request's prompt, for guards: the prompt string, or the text parts of a
 * messages / input array (contents, text parts), decoded from the JSON the client sent.
 * Decoded only when a guard asks, once per request.
 */

/** Keys whose string values are structure, not text the model reads. */
const NON_TEXT_KEYS = new Set(['role', 'type', 'id', 'name', 'tool_call_id', 'call_id', 'image_url', 'url', 'detail', 'format', 'status']);

/**
 * Text of the prompt at `body[start..end)`: a string prompt's range excludes its quotes, an
 * array's includes its brackets. Falls back to the raw bytes as UTF-8 when they are not JSON
 * (the passthrough parser hands the whole body over).
 */
export function promptText(body: Buffer, start: number, end: number): string {
  if (end <= start) return '';
  const raw = body.toString('utf8', start, end);
  const quoted = start > 0 && body[start - 1] === 0x22;
  try {
    const value: unknown = JSON.parse(quoted ? `"${raw}"` : raw);
    if (typeof value === 'string') return value;
    const parts: string[] = [];
    collect(value, parts, 0);
    return parts.join('\n');
  } catch {
    return raw;
  }
}

function collect(v: unknown, out: string[], depth: number): void {
  if (depth > 64) return;
  if (typeof v === 'string') {
    out.push(v);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) collect(x, out, depth + 1);
    return;
  }
  if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) if (!NON_TEXT_KEYS.has(k)) collect(x, out, depth + 1);
}
