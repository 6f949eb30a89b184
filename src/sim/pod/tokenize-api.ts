/**
 * vLLM's `/tokenize` and `/detokenize` over the simulator's tokenizer. Token ids are hashes of
 * the token text, so `/detokenize` can only turn back ids it has seen: the pieces of texts sent
 * to `/tokenize` (a bounded memory per pod) and the synthetic words generated text is made of.
 */
import { messageText, renderChat, type ChatMessage } from '../../workload/chat-template.js';
import { synthWord, tokenPieces, tokenize } from '../../workload/tokenizer.js';

/** A rejected body: status, vLLM error type, message. */
export interface ApiError {
  status: number;
  type: string;
  message: string;
}

const bad = (message: string): ApiError => ({ status: 400, type: 'BadRequestError', message });

/** Pieces `/tokenize` has seen, most recent last; bounded so a client cannot grow it without end. */
export class PieceMemory {
  private readonly pieces = new Map<number, string>();

  constructor(private readonly cap = 100_000) {}

  remember(ids: Int32Array, pieces: readonly string[]): void {
    for (let i = 0; i < ids.length; i++) {
      this.pieces.delete(ids[i]);
      this.pieces.set(ids[i], pieces[i]);
    }
    while (this.pieces.size > this.cap) this.pieces.delete(this.pieces.keys().next().value as number);
  }

  piece(id: number): string | undefined {
    return this.pieces.get(id) ?? synthWord(id);
  }
}

/** The `model` field, when present, must be a string; returns it or an error. */
export function modelField(body: Record<string, unknown>): string | null | ApiError {
  if (body.model === undefined || body.model === null) return null;
  if (typeof body.model !== 'string' || body.model === '') return bad('model must be a non-empty string');
  return body.model;
}

/** `POST /tokenize` (vLLM `TokenizeCompletionRequest` or `TokenizeChatRequest`) → `TokenizeResponse` JSON. */
export function tokenizeBody(body: Record<string, unknown>, maxModelLen: number, memory: PieceMemory): string | ApiError {
  let text: string;
  if (body.messages !== undefined) {
    if (!Array.isArray(body.messages) || body.messages.length === 0) return bad('messages must be a non-empty array');
    const msgs: ChatMessage[] = [];
    for (const m of body.messages as unknown[]) {
      const { role, content } = (typeof m === 'object' && m !== null ? m : {}) as { role?: unknown; content?: unknown };
      const t = messageText(content);
      if (typeof role !== 'string' || t === null) return bad('each message needs a string role and string or text-part content');
      msgs.push({ role, content: t });
    }
    text = renderChat(msgs);
  } else if (typeof body.prompt === 'string') text = body.prompt;
  else return bad('prompt must be a string (or send messages)');
  const ids = tokenize(text);
  const pieces = tokenPieces(text);
  memory.remember(ids, pieces);
  const strs = body.return_token_strs === true ? pieces : null;
  return JSON.stringify({ count: ids.length, max_model_len: maxModelLen, tokens: Array.from(ids), token_strs: strs });
}

/** `POST /detokenize` (`{"model"?, "tokens": [int]}`) → `{"prompt": text}`. */
export function detokenizeBody(body: Record<string, unknown>, memory: PieceMemory): string | ApiError {
  const t = body.tokens;
  if (!Array.isArray(t) || !t.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
    return bad('tokens must be an array of non-negative integer token ids');
  }
  let out = '';
  for (const id of t as number[]) {
    const p = memory.piece(id);
    if (p === undefined) {
      return bad(`token id ${id} is unknown to the simulated tokenizer (it knows ids returned by /tokenize and ids of generated text)`);
    }
    out += p;
  }
  return JSON.stringify({ prompt: out });
}
