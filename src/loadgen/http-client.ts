/**
 * Sends one streamed OpenAI request over HTTP (undici) and records what a client sees: the
 * time of every content chunk, the text, the final usage, and how it failed if it did.
 */
import { request, type Dispatcher } from 'undici';
import { countTokens } from '../workload/tokenizer.js';
import type { RequestRecord } from '../workload/metrics.js';
import { SseParser } from './sse.js';

/** Most bytes of an error body kept to find its message; the rest is discarded. */
const MAX_ERROR_BODY = 8192;

/** Result of one request: its record plus the answer text (for multi-turn sessions). */
export interface SentRequest {
  record: RequestRecord;
  answer: string;
}

/** Everything needed to send one request. */
export interface SendOptions {
  url: string;
  body: Buffer;
  headers: Record<string, string>;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  /** The record to fill (id, stage, session... set by the caller; `start` is set here). */
  record: RequestRecord;
  /** Header naming the endpoint that served the request (e.g. set by a gateway), or null. */
  podHeader: string | null;
  /** Maps a served-endpoint header value to a pod index. */
  podIndex: (value: string) => number;
}

interface ChunkJson {
  choices?: Array<{ text?: string | null; delta?: { content?: string | null } | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
  error?: unknown;
}

/** Sends the request and resolves when it ends (never rejects). */
export async function sendStreamed(o: SendOptions): Promise<SentRequest> {
  const rec = o.record;
  rec.start = performance.now();
  const tokenTimes: number[] = [];
  let answer = '';
  let usage: ChunkJson['usage'] = null;
  let streamed = 0;
  try {
    const res = await request(o.url, {
      method: 'POST',
      body: o.body,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...o.headers },
      dispatcher: o.dispatcher,
      signal: o.signal,
    });
    if (o.podHeader !== null) {
      const v = res.headers[o.podHeader];
      if (typeof v === 'string') rec.pod = o.podIndex(v);
    }
    if (res.statusCode >= 400) {
      const detail = errorMessage(await readCapped(res.body, MAX_ERROR_BODY));
      return fail(rec, `http_${res.statusCode}`, answer, [], detail);
    }
    const parser = new SseParser();
    let sawDone = false;
    let streamError: string | null = null;
    const onData = (data: string): void => {
      if (data === '[DONE]') {
        sawDone = true;
        return;
      }
      let j: ChunkJson;
      try {
        j = JSON.parse(data) as ChunkJson;
      } catch {
        return;
      }
      // An error event inside a 200 stream (vLLM and SGLang send one when generation fails).
      if (j.error !== undefined && j.error !== null && streamError === null) streamError = errorMessage(JSON.stringify({ error: j.error }));
      if (j.usage) usage = j.usage;
      const c = j.choices?.[0];
      const text = c === undefined ? '' : (c.text ?? c.delta?.content ?? '');
      if (text === '') return;
      const now = performance.now();
      answer += text;
      // Every token of a chunk gets the chunk's arrival time (inference-perf's convention).
      const n = Math.max(1, countTokens(text));
      for (let i = 0; i < n; i++) tokenTimes.push(now);
      streamed += n;
    };
    for await (const chunk of res.body) parser.push(chunk as Buffer, onData);
    parser.end(onData);
    if (!sawDone) return fail(rec, 'truncated', answer, tokenTimes, streamError ?? 'the stream ended without "data: [DONE]"');
    if (streamError !== null) return fail(rec, 'stream_error', answer, tokenTimes, streamError);
  } catch (e) {
    const aborted = o.signal.aborted;
    const err = e as Error & { code?: unknown; cause?: { code?: unknown; message?: unknown } };
    const code = typeof err.cause?.code === 'string' ? err.cause.code : typeof err.code === 'string' ? err.code : null;
    const detail = aborted ? 'drain deadline reached' : `${code === null ? '' : `${code}: `}${String(err.cause?.message ?? err.message)}`;
    return fail(rec, aborted ? 'timeout' : tokenTimes.length > 0 ? 'dropped' : 'connection', answer, tokenTimes, detail);
  }
  rec.end = performance.now();
  rec.ok = true;
  const u = usage as ChunkJson['usage'];
  rec.outputTokens = u?.completion_tokens ?? streamed;
  if (typeof u?.prompt_tokens === 'number') rec.promptTokens = u.prompt_tokens;
  rec.cachedTokens = u?.prompt_tokens_details?.cached_tokens ?? -1;
  setTokenTimes(rec, tokenTimes);
  return { record: rec, answer };
}

function setTokenTimes(rec: RequestRecord, times: number[]): void {
  if (times.length === 0) return;
  rec.firstToken = times[0];
  rec.lastToken = times[times.length - 1];
  const itl = new Float64Array(times.length - 1);
  for (let i = 1; i < times.length; i++) itl[i - 1] = times[i] - times[i - 1];
  rec.itl = itl;
}

function fail(rec: RequestRecord, error: string, answer: string, times: number[] = [], detail?: string): SentRequest {
  rec.end = performance.now();
  rec.ok = false;
  rec.error = error;
  if (detail !== undefined && detail !== '') rec.detail = detail;
  rec.outputTokens = times.length;
  setTokenTimes(rec, times);
  return { record: rec, answer };
}

/** Reads at most `cap` bytes of `body` and discards the rest. */
async function readCapped(body: AsyncIterable<unknown>, cap: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      if (size >= cap) continue;
      const b = chunk as Buffer;
      parts.push(b.subarray(0, cap - size));
      size += Math.min(b.length, cap - size);
    }
  } catch {
    // A body cut short still tells what arrived.
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * The message of an error body: OpenAI/vLLM `{"error":{"message"}}`, old vLLM
 * `{"message"}`, FastAPI `{"detail"}`, else the text itself; one line, at most 300 characters.
 */
export function errorMessage(text: string): string {
  let msg: unknown = text;
  try {
    const j = JSON.parse(text) as { error?: unknown; message?: unknown; detail?: unknown };
    const e = j.error;
    msg =
      typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string'
        ? (e as { message: string }).message
        : typeof e === 'string'
          ? e
          : typeof j.message === 'string'
            ? j.message
            : j.detail !== undefined
              ? typeof j.detail === 'string'
                ? j.detail
                : JSON.stringify(j.detail)
              : text;
  } catch {
    // Not JSON: the text is the message.
  }
  const line = String(msg).replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}
