/**
 * Runs one parsed inference request on a pod's engine and writes the HTTP response as the
 * tokens come: SSE chunks (one per `chunkTokens` tokens, the final usage chunk, `[DONE]`) or one
 * JSON body at the end. A client that disconnects aborts the request in the engine.
 */
import type http from 'node:http';
import type { Engine } from '../engine/engine.js';
import { RequestState, SimRequest, type RequestSink } from '../engine/request.js';
import { synthText } from '../../workload/tokenizer.js';
import type { ParsedInference } from './openai-request.js';
import { DONE_EVENT, contentChunk, errorBody, fullResponse, usageChunk, type ResponseHead } from './openai-response.js';

/** Per-request streaming settings. */
export interface StreamSettings {
  /** Destroy the connection once this many tokens were produced (fault injection); -1 never. */
  dropAt: number;
  /** Tokens per SSE event. */
  chunkTokens: number;
}

/** Sends a JSON body unless the response already started or the socket is gone. */
export function sendJson(res: http.ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

/** Submits `p` to `engine` and answers on `res` as the engine progresses. */
export function runInference(
  engine: Engine,
  p: ParsedInference,
  lora: string | null,
  head: ResponseHead,
  settings: StreamSettings,
  res: http.ServerResponse,
): void {
  // Each output token is one 4-character word of this text.
  const text = synthText(p.outputSeed, p.maxTokens);
  const { dropAt, chunkTokens } = settings;
  let sent = 0;
  if (p.stream) res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  const sink: RequestSink = {
    onToken(r) {
      if (dropAt > 0 && r.output >= dropAt) {
        res.destroy();
        return;
      }
      if (!p.stream) return;
      const last = r.output >= r.maxTokens;
      if (!last && r.output - sent < chunkTokens) return;
      res.write(contentChunk(head, text.slice(sent * 4, r.output * 4), last ? 'length' : null, sent === 0));
      sent = r.output;
    },
    onFinish(r) {
      const usage = { prompt: r.promptLen, completion: r.output, cached: Math.max(0, r.cachedTokens) };
      if (p.stream) {
        if (p.includeUsage) res.write(usageChunk(head, usage));
        res.end(DONE_EVENT);
      } else sendJson(res, 200, fullResponse(head, text, 'length', usage));
    },
    onFail(_r, reason) {
      if (p.stream) res.destroy();
      else sendJson(res, 500, errorBody(500, 'InternalServerError', reason));
    },
  };
  const req = new SimRequest({ id: head.id, prompt: p.prompt, maxTokens: p.maxTokens, outputSeed: p.outputSeed, lora, sink });
  res.on('close', () => {
    if (req.state !== RequestState.Finished) engine.abort(req);
  });
  engine.submit(req);
}
