/**
 * Sends one streamed OpenAI request over HTTP (undici) and records what a client sees: the
 * time of every content chunk, the text, the final usage, and how it failed if it did.
 */
import { request, type Dispatcher } from 'undici';
import { countTokens } from '../sim/engine/tokenizer.js';
import type { RequestRecord } from './metrics.js';
import { SseParser } from './sse.js';

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
      await res.body.dump();
      return fail(rec, `http_${res.statusCode}`, answer);
    }
    const parser = new SseParser();
    let sawDone = false;
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
    if (!sawDone) return fail(rec, 'truncated', answer, tokenTimes);
  } catch (e) {
    const aborted = o.signal.aborted;
    return fail(rec, aborted ? 'timeout' : tokenTimes.length > 0 ? 'dropped' : 'connection', answer, tokenTimes);
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

function fail(rec: RequestRecord, error: string, answer: string, times: number[] = []): SentRequest {
  rec.end = performance.now();
  rec.ok = false;
  rec.error = error;
  rec.outputTokens = times.length;
  setTokenTimes(rec, times);
  return { record: rec, answer };
}
