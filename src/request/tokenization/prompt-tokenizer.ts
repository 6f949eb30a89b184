/**
 * Turning a request's prompt into the token ids the model server will see, for scorers that
 * key KV blocks by tokens (precise-prefix-cache-scorer). Contract, the shared prompt parsing and
 * the wrapper every backend goes through: a cache by prompt bytes, a deadline, and counted
 * fallbacks. Backends: hf-tokenizer.ts (local tokenizer.json + chat template), vllm-tokenizer.ts
 * (the model server's `/tokenize`).
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** The prompt of a request as the director saw it. */
export interface PromptSource {
  body: Buffer;
  /** Byte range of the prompt-bearing value (`prompt` or `messages`). */
  promptStart: number;
  promptEnd: number;
  /** Model sent upstream. */
  model: string;
}

/** The parsed prompt value: text, chat messages, or token ids already. */
export type ParsedPrompt = { kind: 'text'; text: string } | { kind: 'chat'; messages: unknown[] } | { kind: 'tokens'; tokens: Int32Array };

/** Why a request got no token ids (the scorer then falls back to the approximate index). */
export type TokenizeFailure = 'timeout' | 'no_tokenizer' | 'unsupported_prompt' | 'error';

export type TokenizeResult = { ok: true; tokens: Int32Array } | { ok: false; reason: TokenizeFailure };

/** A tokenizer backend. */
export interface TokenizerBackend {
  /** Token ids of `p`; rejects or returns a failure when it cannot. */
  tokenize(p: ParsedPrompt & { kind: 'text' | 'chat' }, model: string, signal: AbortSignal): Promise<TokenizeResult> | TokenizeResult;
  close?(): Promise<void>;
}

/** Parses the prompt value: a string, an array of token ids, or a messages array. */
export function parsePrompt(src: PromptSource): ParsedPrompt | null {
  let v: unknown;
  try {
    v = JSON.parse(src.body.toString('utf8', src.promptStart, src.promptEnd));
  } catch {
    return null;
  }
  if (typeof v === 'string') return { kind: 'text', text: v };
  if (!Array.isArray(v) || v.length === 0) return null;
  if (typeof v[0] === 'number') {
    const t = new Int32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i] as unknown;
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0x7fffffff) return null;
      t[i] = x;
    }
    return { kind: 'tokens', tokens: t };
  }
  if (typeof v[0] === 'object' && v[0] !== null) return { kind: 'chat', messages: v };
  return null;
}

/** Counters of a prompt tokenizer, for metrics. */
export interface TokenizerStats {
  requests: number;
  cacheHits: number;
  fallbacks: Record<TokenizeFailure, number>;
}

export interface PromptTokenizerOptions {
  /** Most time a request waits for its tokens, ms. */
  timeoutMs: number;
  /** Token ids cached, across prompts. */
  cacheTokens: number;
}

/** A backend behind a cache and a deadline; never rejects. */
export class PromptTokenizer {
  readonly stats: TokenizerStats = { requests: 0, cacheHits: 0, fallbacks: { timeout: 0, no_tokenizer: 0, unsupported_prompt: 0, error: 0 } };
  private readonly cache: LRUCache<string, Int32Array>;

  constructor(
    private readonly backend: TokenizerBackend | null,
    private readonly o: PromptTokenizerOptions,
  ) {
    this.cache = new LRUCache({ maxSize: Math.max(1, o.cacheTokens), sizeCalculation: (v) => Math.max(1, v.length) });
  }

  /** The prompt's token ids, or why not. */
  async tokenize(src: PromptSource): Promise<TokenizeResult> {
    this.stats.requests++;
    const parsed = parsePrompt(src);
    if (parsed === null) return this.fail('unsupported_prompt');
    if (parsed.kind === 'tokens') return { ok: true, tokens: parsed.tokens };
    if (this.backend === null) return this.fail('no_tokenizer');
    const key = createHash('sha1').update(src.model).update('\u0000').update(src.body.subarray(src.promptStart, src.promptEnd)).digest('base64');
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.stats.cacheHits++;
      return { ok: true, tokens: hit };
    }
    const ac = new AbortController();
    let timer: NodeJS.Timeout | null = null;
    const deadline = new Promise<TokenizeResult>((resolve) => {
      timer = setTimeout(() => {
        ac.abort();
        resolve({ ok: false, reason: 'timeout' });
      }, this.o.timeoutMs);
    });
    let r: TokenizeResult;
    try {
      r = await Promise.race([Promise.resolve(this.backend.tokenize(parsed, src.model, ac.signal)), deadline]);
    } catch {
      r = { ok: false, reason: 'error' };
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
    if (!r.ok) return this.fail(r.reason);
    this.cache.set(key, r.tokens);
    return r;
  }

  async close(): Promise<void> {
    await this.backend?.close?.();
  }

  private fail(reason: TokenizeFailure): TokenizeResult {
    this.stats.fallbacks[reason]++;
    return { ok: false, reason };
  }
}

/** A plugin that needs requests' token ids: the director asks its tokenizer before scheduling. */
export interface TokenizingPlugin {
  readonly promptTokenizer: PromptTokenizer;
}

export function isTokenizingPlugin(p: object): p is TokenizingPlugin {
  return (p as Partial<TokenizingPlugin>).promptTokenizer instanceof PromptTokenizer;
}
