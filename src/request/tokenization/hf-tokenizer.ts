/**
 * A local tokenizer: the model's `tokenizer.json` and `tokenizer_config.json` from a directory
 * (the model cache or a ConfigMap), encoded by `@huggingface/tokenizers` (pure JS, no native
 * build) with the chat template rendered by `@huggingface/jinja`, as vLLM renders it.
 *
 * Short prompts are encoded inline (a message to a worker costs more than they do); prompts past
 * `inlineChars` go to a worker thread, so a 64 KB prompt never stalls the event loop. Chat
 * messages are rendered on the calling thread (a string template, cheap next to BPE encoding).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import type { ParsedPrompt, TokenizeResult, TokenizerBackend } from './prompt-tokenizer.js';

export interface HfTokenizerOptions {
  /** Directory holding tokenizer.json and tokenizer_config.json. */
  dir: string;
  /** Prompts longer than this (characters) are encoded in the worker. */
  inlineChars: number;
}

interface TokenizerFiles {
  json: Record<string, unknown>;
  config: Record<string, unknown>;
}

/** Reads the two files; throws a message naming the file and the problem. */
export function readTokenizerFiles(dir: string): TokenizerFiles {
  const read = (name: string): Record<string, unknown> => {
    const path = join(dir, name);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      throw new Error(`${path}: not JSON (${(err as Error).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${path}: not a JSON object`);
    return v as Record<string, unknown>;
  };
  return { json: read('tokenizer.json'), config: read('tokenizer_config.json') };
}

/** The token text of a special token entry (`"<s>"` or `{ "content": "<s>" }`). */
function tokenText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return '';
}

// Evaluated as CommonJS in the worker; it only encodes text it is sent.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Tokenizer } = require(workerData.lib);
const tok = new Tokenizer(workerData.json, workerData.config);
parentPort.on('message', (m) => {
  try {
    const ids = Int32Array.from(tok.encode(m.text, { add_special_tokens: m.special }).ids);
    parentPort.postMessage({ id: m.id, ids }, [ids.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err) });
  }
});
`;

export class HfTokenizer implements TokenizerBackend {
  private readonly tok: Tokenizer;
  private readonly template: Template | null;
  private readonly specials: Record<string, string>;
  private worker: Worker | null = null;
  private readonly files: TokenizerFiles;
  private readonly waiting = new Map<number, (r: TokenizeResult) => void>();
  private nextId = 0;

  constructor(private readonly o: HfTokenizerOptions) {
    this.files = readTokenizerFiles(o.dir);
    this.tok = new Tokenizer(this.files.json, this.files.config);
    const tpl = this.files.config.chat_template;
    this.template = typeof tpl === 'string' ? new Template(tpl) : null;
    this.specials = { bos_token: tokenText(this.files.config.bos_token), eos_token: tokenText(this.files.config.eos_token) };
  }

  /** The text the model sees for `p` and whether special tokens are added (not after a chat template, which has its own). */
  render(p: ParsedPrompt & { kind: 'text' | 'chat' }): { text: string; special: boolean } | null {
    if (p.kind === 'text') return { text: p.text, special: true };
    if (this.template === null) return null;
    return { text: this.template.render({ messages: p.messages, add_generation_prompt: true, ...this.specials }), special: false };
  }

  tokenize(p: ParsedPrompt & { kind: 'text' | 'chat' }): TokenizeResult | Promise<TokenizeResult> {
    const r = this.render(p);
    if (r === null) return { ok: false, reason: 'unsupported_prompt' };
    if (r.text.length <= this.o.inlineChars) return { ok: true, tokens: this.encode(r.text, r.special) };
    return this.offThread(r.text, r.special);
  }

  /** Encodes on this thread. */
  encode(text: string, special: boolean): Int32Array {
    return Int32Array.from(this.tok.encode(text, { add_special_tokens: special }).ids);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    for (const done of this.waiting.values()) done({ ok: false, reason: 'error' });
    this.waiting.clear();
    await w?.terminate();
  }

  private offThread(text: string, special: boolean): Promise<TokenizeResult> {
    const w = (this.worker ??= this.startWorker());
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      w.postMessage({ id, text, special });
    });
  }

  private startWorker(): Worker {
    const lib = createRequire(import.meta.url).resolve('@huggingface/tokenizers');
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { lib, json: this.files.json, config: this.files.config } });
    w.unref();
    w.on('message', (m: { id: number; ids?: Int32Array; error?: string }) => {
      const done = this.waiting.get(m.id);
      if (done === undefined) return;
      this.waiting.delete(m.id);
      done(m.ids !== undefined ? { ok: true, tokens: m.ids } : { ok: false, reason: 'error' });
    });
    w.on('error', () => {
      for (const done of this.waiting.values()) done({ ok: false, reason: 'error' });
      this.waiting.clear();
      this.worker = null;
    });
    return w;
  }
}
