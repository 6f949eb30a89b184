/**
 * Builds vLLM's OpenAI-compatible response bodies: non-streamed objects, SSE chunks, the final
 * usage chunk and error bodies.
 */
import type { ApiKind } from './openai-request.js';

/** Token counts for a `usage` object. */
export interface UsageCounts {
  prompt: number;
  completion: number;
  cached: number;
}

function usageJson(u: UsageCounts): string {
  return (
    `{"prompt_tokens":${u.prompt},"total_tokens":${u.prompt + u.completion},"completion_tokens":${u.completion},` +
    `"prompt_tokens_details":{"cached_tokens":${u.cached}}}`
  );
}

/** Identity fields shared by every chunk of one response. */
export interface ResponseHead {
  kind: ApiKind;
  id: string;
  created: number;
  model: string;
}

function headJson(h: ResponseHead, object: string): string {
  return `"id":${JSON.stringify(h.id)},"object":"${object}","created":${h.created},"model":${JSON.stringify(h.model)}`;
}

/** One SSE event carrying `text` (and, on the last content chunk, the finish reason). */
export function contentChunk(h: ResponseHead, text: string, finishReason: string | null, first: boolean): string {
  const fr = finishReason === null ? 'null' : JSON.stringify(finishReason);
  if (h.kind === 'completions') {
    return (
      `data: {${headJson(h, 'text_completion')},"choices":[{"index":0,"text":${JSON.stringify(text)},` +
      `"logprobs":null,"finish_reason":${fr},"stop_reason":null}],"usage":null}\n\n`
    );
  }
  const delta = first ? `{"role":"assistant","content":${JSON.stringify(text)}}` : `{"content":${JSON.stringify(text)}}`;
  return (
    `data: {${headJson(h, 'chat.completion.chunk')},"choices":[{"index":0,"delta":${delta},` +
    `"logprobs":null,"finish_reason":${fr},"stop_reason":null}],"usage":null}\n\n`
  );
}

/** The final usage chunk (`stream_options.include_usage`), serialised without null fields. */
export function usageChunk(h: ResponseHead, u: UsageCounts): string {
  const object = h.kind === 'completions' ? 'text_completion' : 'chat.completion.chunk';
  return `data: {${headJson(h, object)},"choices":[],"usage":${usageJson(u)}}\n\n`;
}

/** The stream terminator. */
export const DONE_EVENT = 'data: [DONE]\n\n';

/** A complete non-streamed response. */
export function fullResponse(h: ResponseHead, text: string, finishReason: string, u: UsageCounts): string {
  if (h.kind === 'completions') {
    return (
      `{${headJson(h, 'text_completion')},"choices":[{"index":0,"text":${JSON.stringify(text)},"logprobs":null,` +
      `"finish_reason":"${finishReason}","stop_reason":null,"prompt_logprobs":null}],"usage":${usageJson(u)}}`
    );
  }
  return (
    `{${headJson(h, 'chat.completion')},"choices":[{"index":0,"message":{"role":"assistant","content":${JSON.stringify(text)},` +
    `"tool_calls":[],"reasoning_content":null},"logprobs":null,"finish_reason":"${finishReason}","stop_reason":null}],` +
    `"usage":${usageJson(u)}}`
  );
}

/** vLLM's error body: `{"error":{"message","type","param","code"}}`. */
export function errorBody(status: number, type: string, message: string): string {
  return JSON.stringify({ error: { message, type, param: null, code: status } });
}
