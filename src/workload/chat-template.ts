/**
 * The simulator's chat template (Llama-3 style headers). Every message body starts right after
 * a blank line, and the generation prompt ends with one, so the rendered prompt plus the
 * assistant's reply is a token prefix of the next turn's prompt: multi-turn sessions hit the
 * prefix cache exactly as far as a real server's would.
 */

/** A chat message as the simulator reads it (text content only). */
export interface ChatMessage {
  role: string;
  content: string;
}

/** Renders `messages` and the assistant generation prompt into one prompt string. */
export function renderChat(messages: readonly ChatMessage[]): string {
  let s = '<|begin_of_text|>';
  for (const m of messages) s += `<|start_header_id|>${m.role}<|end_header_id|>\n\n${m.content}<|eot_id|>\n`;
  return s + '<|start_header_id|>assistant<|end_header_id|>\n\n';
}

/**
 * Extracts the plain text of an OpenAI message `content`: a string, null, or an array of parts
 * whose `text` parts are concatenated. Returns null when the shape is invalid.
 */
export function messageText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) return null;
  let s = '';
  for (const part of content) {
    if (typeof part !== 'object' || part === null) return null;
    const p = part as { type?: unknown; text?: unknown };
    if (p.type === 'text') {
      if (typeof p.text !== 'string') return null;
      s += p.text;
    }
  }
  return s;
}
