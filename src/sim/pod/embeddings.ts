/**
 * `POST /v1/embeddings` for an embedding-model profile (`embeddingDim` > 0), in vLLM's shapes:
 * `EmbeddingRequest` in, `EmbeddingResponse` out. Vectors are deterministic and L2-normalised:
 * every token adds ±1 to a few dimensions picked by its id (feature hashing), so texts that
 * share tokens have a positive cosine similarity, as real embeddings of similar texts do.
 */
import { mix32 } from '../../util/random.js';
import { tokenize } from '../../workload/tokenizer.js';
import type { ApiError } from './tokenize-api.js';

const bad = (message: string): ApiError => ({ status: 400, type: 'BadRequestError', message });

/** Inputs longer than this many items are refused (one request, many vectors). */
const MAX_INPUTS = 2048;

/** A parsed embeddings request. */
export interface EmbeddingsRequest {
  model: string | null;
  inputs: Int32Array[];
  base64: boolean;
}

/** Parses an `EmbeddingRequest` body: `input` as a string, strings, token ids or lists of ids. */
export function parseEmbeddings(body: Record<string, unknown>, dim: number): EmbeddingsRequest | ApiError {
  const model = body.model === undefined || body.model === null ? null : body.model;
  if (model !== null && (typeof model !== 'string' || model === '')) return bad('model must be a non-empty string');
  const inp = body.input;
  const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isInteger(x));
  let inputs: Int32Array[];
  if (typeof inp === 'string') inputs = [tokenize(inp)];
  else if (isIds(inp)) inputs = [Int32Array.from(inp)];
  else if (Array.isArray(inp) && inp.length > 0 && inp.every((x) => typeof x === 'string')) inputs = (inp as string[]).map((s) => tokenize(s));
  else if (Array.isArray(inp) && inp.length > 0 && inp.every(isIds)) inputs = (inp as number[][]).map((ids) => Int32Array.from(ids));
  else return bad('input must be a non-empty string, array of strings, array of token ids or array of token-id arrays');
  if (inputs.length > MAX_INPUTS) return bad(`at most ${MAX_INPUTS} inputs per request`);
  if (inputs.some((t) => t.length === 0)) return bad('every input must have at least one token');
  const fmt = body.encoding_format ?? 'float';
  if (fmt !== 'float' && fmt !== 'base64') return bad('encoding_format must be "float" or "base64"');
  if (body.dimensions !== undefined && body.dimensions !== null && body.dimensions !== dim) {
    // vLLM only truncates vectors of Matryoshka models; this profile is not one.
    return bad('Model does not support matryoshka representation, changing output dimensions will lead to poor results.');
  }
  return { model: model as string | null, inputs, base64: fmt === 'base64' };
}

/** The unit vector of `tokens` in `dim` dimensions. */
export function embed(tokens: Int32Array, dim: number): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < tokens.length; i++) {
    let h = mix32(tokens[i] ^ 0x5bd1e995);
    for (let k = 0; k < 4; k++) {
      v[h % dim] += h & 0x80000000 ? -1 : 1;
      h = mix32(h + k + 1);
    }
  }
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += v[j] * v[j];
  norm = Math.sqrt(norm) || 1;
  for (let j = 0; j < dim; j++) v[j] /= norm;
  return v;
}

/** The `EmbeddingResponse` JSON for `req`. */
export function embeddingsResponse(id: string, created: number, model: string, req: EmbeddingsRequest, dim: number): string {
  let promptTokens = 0;
  const data = req.inputs.map((tokens, index) => {
    promptTokens += tokens.length;
    const v = embed(tokens, dim);
    const embedding = req.base64 ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v);
    return { index, object: 'embedding', embedding };
  });
  return JSON.stringify({
    id,
    object: 'list',
    created,
    model,
    data,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens, completion_tokens: 0, prompt_tokens_details: null },
  });
}
