/**
 * The model server tokenizes: vLLM's `POST /tokenize` (completion form `{model, prompt}`, chat
 * form `{model, messages, add_generation_prompt}`, which renders the model's own chat template),
 * so the tokens are exactly the engine's. Costs one local round trip per new prompt; the
 * PromptTokenizer in front caches results and bounds the wait.
 */
import { request } from 'undici';
import type { ParsedPrompt, TokenizeResult, TokenizerBackend } from './prompt-tokenizer.js';

/** Largest `/tokenize` answer read (a 128k-token prompt is ~1 MB of JSON). */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export class VllmTokenizer implements TokenizerBackend {
  /** @param baseUrl the server to ask (`http://host:port`), or null when none is known yet. */
  constructor(private readonly baseUrl: () => string | null) {}

  async tokenize(p: ParsedPrompt & { kind: 'text' | 'chat' }, model: string, signal: AbortSignal): Promise<TokenizeResult> {
    const base = this.baseUrl();
    if (base === null) return { ok: false, reason: 'no_tokenizer' };
    const body = p.kind === 'text' ? { model, prompt: p.text } : { model, messages: p.messages, add_generation_prompt: true };
    const res = await request(`${base}/tokenize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { ok: false, reason: 'error' };
    }
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const c of res.body) {
      size += (c as Buffer).length;
      if (size > MAX_RESPONSE_BYTES) {
        res.body.destroy();
        return { ok: false, reason: 'error' };
      }
      chunks.push(c as Buffer);
    }
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tokens?: unknown };
    const t = parsed.tokens;
    if (!Array.isArray(t)) return { ok: false, reason: 'error' };
    const out = new Int32Array(t.length);
    for (let i = 0; i < t.length; i++) {
      const x = t[i] as unknown;
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0x7fffffff) return { ok: false, reason: 'error' };
      out[i] = x;
    }
    return { ok: true, tokens: out };
  }
}
