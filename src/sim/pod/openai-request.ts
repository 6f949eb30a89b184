/**
 * Parses and validates OpenAI completions / chat-completions bodies the way vLLM's API server
 * does, far enough for the simulator: model, prompt or messages, output length, streaming.
 */
import { messageText, renderChat, type ChatMessage } from '../../workload/chat-template.js';
import { mix32 } from '../../util/random.js';
import { tokenize } from '../../workload/tokenizer.js';

/** Which OpenAI endpoint a request came to. */
export type ApiKind = 'completions' | 'chat';

/** A request the pod can run. */
export interface ParsedInference {
  kind: ApiKind;
  model: string;
  prompt: Int32Array;
  maxTokens: number;
  stream: boolean;
  includeUsage: boolean;
  /** Seed of the synthetic output: the prompt's hash, mixed with the request's `seed`. */
  outputSeed: number;
}

/** A rejected request: HTTP status and vLLM-style message. */
export interface ParseError {
  status: number;
  type: string;
  message: string;
}

/** Defaults applied when a body omits fields. */
export interface ParseDefaults {
  /** Served base model, used when `model` is absent. */
  model: string;
  /** `max_tokens` default for chat (vLLM would use the rest of the context; too long here). */
  chatMaxTokens: number;
}

function bad(message: string): ParseError {
  return { status: 400, type: 'BadRequestError', message };
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/** Parses `raw` (already JSON-decoded) for endpoint `kind`. */
export function parseInference(kind: ApiKind, raw: unknown, defaults: ParseDefaults): ParsedInference | ParseError {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('request body must be a JSON object');
  const body = raw as Record<string, unknown>;
  const model = body.model === undefined || body.model === null ? defaults.model : body.model;
  if (typeof model !== 'string' || model === '') return bad('model must be a non-empty string');

  let prompt: Int32Array;
  if (kind === 'completions') {
    const p = body.prompt;
    if (typeof p === 'string') prompt = tokenize(p);
    else if (Array.isArray(p) && p.length > 0 && p.every(isInt)) prompt = Int32Array.from(p as number[]);
    else if (Array.isArray(p) && p.length === 1 && typeof p[0] === 'string') prompt = tokenize(p[0]);
    else if (Array.isArray(p) && p.length > 1 && p.every((x) => typeof x === 'string' || Array.isArray(x))) {
      return bad('batched prompts are not supported by the simulator; send one prompt per request');
    } else if (p === undefined || p === null || (Array.isArray(p) && p.length === 0) || p === '') {
      return bad('Either prompt or prompt_embeds must be provided and non-empty.');
    } else return bad('prompt must be a string, an array of strings or an array of token ids');
  } else {
    const msgs = body.messages;
    if (!Array.isArray(msgs) || msgs.length === 0) return bad('messages must be a non-empty array');
    const out: ChatMessage[] = [];
    for (const m of msgs) {
      if (typeof m !== 'object' || m === null) return bad('each message must be an object');
      const { role, content } = m as { role?: unknown; content?: unknown };
      if (typeof role !== 'string') return bad('each message needs a string role');
      const text = messageText(content);
      if (text === null) return bad('message content must be a string or an array of content parts');
      out.push({ role, content: text });
    }
    prompt = tokenize(renderChat(out));
  }
  if (prompt.length === 0) return bad('Either prompt or prompt_embeds must be provided and non-empty.');

  const mt = kind === 'chat' ? (body.max_completion_tokens ?? body.max_tokens) : body.max_tokens;
  let maxTokens: number;
  if (mt === undefined || mt === null) maxTokens = kind === 'chat' ? defaults.chatMaxTokens : 16;
  else if (isInt(mt) && mt >= 1) maxTokens = mt;
  else return bad(`max_tokens must be at least 1, got ${String(mt)}.`);

  if (body.n !== undefined && body.n !== null && body.n !== 1) return bad('n > 1 is not supported by the simulator');
  const stream = body.stream === true;
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') return bad('stream must be a boolean');
  const so = body.stream_options;
  if (so !== undefined && so !== null) {
    if (!stream) return bad('Stream options can only be defined when `stream=True`.');
    if (typeof so !== 'object') return bad('stream_options must be an object');
  }
  const includeUsage = stream && typeof so === 'object' && so !== null && (so as Record<string, unknown>).include_usage !== false;

  const outputSeed = outputSeedFor(prompt, isInt(body.seed) ? body.seed : null);
  return { kind, model, prompt, maxTokens, stream, includeUsage, outputSeed };
}

/** Seed of a request's synthetic output: a hash of its prompt tokens and optional `seed` field. */
export function outputSeedFor(prompt: Int32Array, seed: number | null): number {
  let h = 0x2545f491;
  for (let i = 0; i < prompt.length; i++) h = Math.imul(h ^ prompt[i], 0x01000193);
  if (seed !== null) h ^= mix32(seed);
  return mix32(h);
}
