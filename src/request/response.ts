/**
 * Watches a response body on its way back to the client: parses `usage` (from a JSON body, or
 * from the SSE stream's usage chunk), measures time to first byte, and maps a rewritten model
 * name back to the one the client asked for.
 *
 * Streams are never held back: a chunk is forwarded as it arrives. Only when a model name must
 * be mapped back is the unfinished last line of a chunk carried to the next one, so a name split
 * across chunks is still rewritten. Non-streamed JSON is held only when it must be rewritten.
 */
import type { Usage } from './usage.js';

/** Largest non-streamed body parsed for usage; larger ones are passed through unparsed. */
const MAX_PARSED_BODY = 4 * 1024 * 1024;
/** Longest unfinished SSE line carried to the next chunk; a longer one is passed on as it is. */
const MAX_SSE_LINE = 1024 * 1024;
const NEWLINE = 0x0a;

/** Reads a `usage` object in either the completions or the responses vocabulary. */
export function usageFrom(u: unknown): Usage | null {
  if (typeof u !== 'object' || u === null) return null;
  const o = u as Record<string, unknown>;
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  const prompt = num(o.prompt_tokens ?? o.input_tokens);
  const completion = num(o.completion_tokens ?? o.output_tokens);
  const details = (o.prompt_tokens_details ?? o.prompt_token_details ?? o.input_tokens_details) as Record<string, unknown> | null | undefined;
  return {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: num(o.total_tokens) || prompt + completion,
    // -1: not reported (vLLM reports it with --enable-prompt-tokens-details), not "nothing cached".
    cachedTokens: details != null && typeof details.cached_tokens === 'number' ? num(details.cached_tokens) : -1,
  };
}

/** Usage from one parsed response object (chat, completion, or Responses API event). */
function usageOfEvent(obj: unknown): Usage | null {
  if (typeof obj !== 'object' || obj === null) return null;
  const o = obj as Record<string, unknown>;
  if (o.usage != null) return usageFrom(o.usage);
  if (o.type === 'response.completed' && typeof o.response === 'object' && o.response !== null)
    return usageFrom((o.response as Record<string, unknown>).usage);
  return null;
}

/** True when `b` opens with an SSE field name (`data:`, `event:`, `id:`, `retry:`) or a comment. */
function startsSseField(b: Buffer): boolean {
  if (b.length === 0) return false;
  if (b[0] === 0x3a) return true;
  for (const f of SSE_FIELDS) if (b.length >= f.length && b.compare(f, 0, f.length, 0, f.length) === 0) return true;
  return false;
}

const SSE_FIELDS = ['data:', 'event:', 'id:', 'retry:'].map((f) => Buffer.from(f));
const DATA_FIELD = SSE_FIELDS[0];

/** `data:` fields in `b` (an event split across chunks may be missed: an estimate, not a parse). */
function countEvents(b: Buffer): number {
  let n = 0;
  for (let at = b.indexOf(DATA_FIELD); at >= 0; at = b.indexOf(DATA_FIELD, at + 5)) n++;
  return n;
}

export class ResponseObserver {
  /** Usage seen so far, or null. */
  usage: Usage | null = null;
  /** Response body bytes seen (before any rewrite). */
  bytes = 0;
  /** Clock time of the first non-empty body chunk, or -1. */
  firstByteAt = -1;
  /** Clock time of the latest non-empty body chunk, or -1. */
  lastByteAt = -1;
  /**
   * SSE `data:` events seen in a stream (tokens, the usage event, `[DONE]`), counted in place
   * without copying: the inter-event gap is an ITL estimate when the stream reports no usage.
   */
  events = 0;
  private streaming: boolean;
  /** Non-streamed body kept for the usage parse (and the rewrite); null once released. */
  private held: Buffer[] | null = [];
  private heldBytes = 0;
  private carry: Buffer | null = null;
  private readonly from: Buffer[] | null;
  private readonly to: Buffer[] | null;

  /**
   * `stream`: the client asked for a stream. When `targetModel` differs from `incomingModel`,
   * the response's model name is mapped back to `incomingModel`.
   */
  constructor(
    stream: boolean,
    incomingModel: string,
    targetModel: string,
    private readonly now: () => number,
  ) {
    this.streaming = stream;
    if (incomingModel !== targetModel && incomingModel !== '') {
      this.from = [Buffer.from(`"model":${JSON.stringify(targetModel)}`), Buffer.from(`"model": ${JSON.stringify(targetModel)}`)];
      this.to = [Buffer.from(`"model":${JSON.stringify(incomingModel)}`), Buffer.from(`"model": ${JSON.stringify(incomingModel)}`)];
    } else {
      this.from = null;
      this.to = null;
    }
  }

  /** Response headers: an SSE content type means a stream whatever the request said. */
  headers(contentType: string | undefined): void {
    if (contentType !== undefined && contentType.includes('text/event-stream')) this.streaming = true;
  }

  /** Whether the response is handled as a stream. */
  get isStreaming(): boolean {
    return this.streaming;
  }

  /** Observes a chunk; returns the bytes to forward now (null while a body is held for rewriting). */
  chunk(buf: Buffer, endOfStream: boolean): Buffer | null {
    if (buf.length > 0) {
      const t = this.now();
      if (this.firstByteAt < 0) this.firstByteAt = t;
      this.lastByteAt = t;
    }
    this.bytes += buf.length;
    if (this.streaming) this.events += countEvents(buf);
    return this.streaming ? this.streamChunk(buf, endOfStream) : this.bodyChunk(buf, endOfStream);
  }

  private streamChunk(buf: Buffer, eos: boolean): Buffer {
    // Lines are parsed whole: prepend what the previous chunk left unfinished. Some servers end
    // a chunk without the newline; a chunk that opens with a new SSE field ends that line.
    if (this.carry !== null && startsSseField(buf)) {
      this.scanSse(this.carry);
      if (this.from === null) this.carry = null;
    }
    const data = this.carry !== null ? Buffer.concat([this.carry, buf]) : buf;
    let lastNl = eos ? data.length - 1 : data.lastIndexOf(NEWLINE);
    // A pod that never ends its line must not make us hold (and re-copy) an ever-growing buffer.
    if (data.length - lastNl - 1 > MAX_SSE_LINE) lastNl = data.length - 1;
    const complete = lastNl >= 0 ? data.subarray(0, lastNl + 1) : data.subarray(0, 0);
    this.carry = lastNl + 1 < data.length ? Buffer.from(data.subarray(lastNl + 1)) : null;
    this.scanSse(complete);
    if (this.from === null) return buf; // nothing to rewrite: forward the chunk untouched
    // Rewriting: the unfinished last line waits for the next chunk (at the end none is left).
    return this.rewrite(complete);
  }

  private scanSse(lines: Buffer): void {
    if (lines.length === 0 || (lines.indexOf('"usage"') < 0 && lines.indexOf('response.completed') < 0)) return;
    for (const line of lines.toString('utf8').split('\n')) {
      if (!line.startsWith('data:')) continue;
      const payload = line.slice(5).trim();
      if (payload === '' || payload === '[DONE]' || (!payload.includes('"usage"') && !payload.includes('response.completed'))) continue;
      try {
        const u = usageOfEvent(JSON.parse(payload));
        if (u !== null) this.usage = u;
      } catch {
        // A malformed event is the client's to see; usage just stays unknown.
      }
    }
  }

  private bodyChunk(buf: Buffer, eos: boolean): Buffer | null {
    const rewriting = this.from !== null;
    if (this.held !== null) {
      this.held.push(buf);
      this.heldBytes += buf.length;
      if (this.heldBytes > MAX_PARSED_BODY) {
        // Too large to parse or rewrite: release what was held and pass the rest through.
        const flushed = rewriting ? Buffer.concat(this.held, this.heldBytes) : buf;
        this.held = null;
        return flushed;
      }
    }
    if (!eos) return rewriting && this.held !== null ? null : buf;
    if (this.held === null) return buf;
    const whole = this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.heldBytes);
    this.held = null;
    if (whole.indexOf('"usage"') >= 0) {
      try {
        const u = usageOfEvent(JSON.parse(whole.toString('utf8')));
        if (u !== null) this.usage = u;
      } catch {
        // Not JSON (an error page, say): forwarded as is.
      }
    }
    return rewriting ? this.rewrite(whole) : buf;
  }

  private rewrite(buf: Buffer): Buffer {
    const from = this.from as Buffer[];
    const to = this.to as Buffer[];
    let out = buf;
    for (let i = 0; i < from.length; i++) {
      let at = out.indexOf(from[i]);
      if (at < 0) continue;
      const parts: Buffer[] = [];
      let start = 0;
      while (at >= 0) {
        parts.push(out.subarray(start, at), to[i]);
        start = at + from[i].length;
        at = out.indexOf(from[i], start);
      }
      parts.push(out.subarray(start));
      out = Buffer.concat(parts);
    }
    return out;
  }
}
