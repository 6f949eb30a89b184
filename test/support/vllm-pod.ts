/**
 * A small real HTTP server shaped like a vLLM pod: OpenAI completions/chat/embeddings (streamed
 * or not, with `usage`), `/v1/models` with LoRA adapters, and `/metrics` in vLLM's exposition.
 * Knobs let a test slow a stream down or kill the pod mid-stream; counters show what it saw.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PodOptions {
  /** Loopback address to listen on (127.0.0.x gives each pod its own IP). */
  address?: string;
  /** Base model served. */
  model?: string;
  /** LoRA adapters served on top of the base model. */
  adapters?: string[];
  /** Chunks in a streamed answer (each a separate write). */
  chunks?: number;
  /** Delay between streamed chunks, ms. */
  chunkDelayMs?: number;
  /** Extra text per streamed chunk, to make chunks this many bytes bigger. */
  chunkPadding?: number;
  /** `max_lora` reported in /metrics (default: the adapter count, i.e. no free slot). */
  maxLora?: number;
}

/** What the pod saw. */
export interface PodStats {
  requests: number;
  /** Responses started and not yet ended or aborted. */
  inflight: number;
  /** Responses the client (the proxy) abandoned before they ended. */
  aborted: number;
  completed: number;
  /** Headers of the latest inference request. */
  lastHeaders: IncomingMessage['headers'] | null;
  /** Body of the latest inference request. */
  lastBody: Record<string, unknown> | null;
  /** URL (path and query) of the latest inference request. */
  lastUrl: string | null;
}

export class VllmPod {
  readonly address: string;
  readonly maxLora: number;
  /** Waiting-queue size reported in /metrics, to make the pod look busy or idle. */
  waiting = 0;
  /** When >= 0, the next streamed answer crashes the pod after this many chunks: every connection is cut and the port refuses from then on. */
  crashAfterChunks = -1;
  readonly model: string;
  readonly adapters: string[];
  chunks: number;
  chunkDelayMs: number;
  chunkPadding: number;
  /** When >= 0, the next streamed answer destroys its socket after this many chunks. */
  dieAfterChunks = -1;
  /** When > 0, answers wait this long before sending headers. */
  headerDelayMs = 0;
  readonly stats: PodStats = { requests: 0, inflight: 0, aborted: 0, completed: 0, lastHeaders: null, lastBody: null, lastUrl: null };
  private server: Server | null = null;
  private portValue = 0;

  constructor(options: PodOptions = {}) {
    this.address = options.address ?? '127.0.0.1';
    this.model = options.model ?? 'base-model';
    this.adapters = options.adapters ?? [];
    this.maxLora = options.maxLora ?? this.adapters.length;
    this.chunks = options.chunks ?? 5;
    this.chunkDelayMs = options.chunkDelayMs ?? 0;
    this.chunkPadding = options.chunkPadding ?? 0;
  }

  /** Listens on 127.0.0.1 (a fresh port, or `port` to come back on the same one). */
  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(port, this.address, resolve));
    this.server = server;
    this.portValue = (server.address() as AddressInfo).port;
    return this;
  }

  get port(): number {
    return this.portValue;
  }

  /** `ip:port`, the endpoint key. */
  get key(): string {
    return `${this.address}:${this.portValue}`;
  }

  /** The pod as an endpoint spec for the pool. */
  get spec(): { address: string; port: number } {
    return { address: this.address, port: this.portValue };
  }

  /** Stops listening and cuts every open connection: from now on connections are refused. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/v1/models') return json(res, 200, this.modelList());
      if (req.method === 'GET' && path === '/metrics') return this.metrics(res);
      if (req.method === 'GET' && path === '/health') return json(res, 200, {});
      if (req.method !== 'POST') return json(res, 404, vllmError('Not Found', 404));
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return json(res, 400, vllmError('bad json', 400));
      }
      this.stats.requests++;
      this.stats.lastHeaders = req.headers;
      this.stats.lastBody = body;
      this.stats.lastUrl = req.url ?? null;
      const model = String(body.model ?? '');
      if (model !== this.model && !this.adapters.includes(model)) {
        return json(res, 404, vllmError(`The model \`${model}\` does not exist.`, 404));
      }
      this.stats.inflight++;
      let open = true;
      const end = (aborted: boolean) => {
        if (!open) return;
        open = false;
        this.stats.inflight--;
        if (aborted) this.stats.aborted++;
        else this.stats.completed++;
      };
      res.on('close', () => end(!res.writableFinished));
      res.on('finish', () => end(false));
      const answer = () => {
        if (path === '/v1/embeddings') return json(res, 200, embedding(model));
        if (body.stream === true) return this.stream(res, path, model, body);
        json(res, 200, completion(path, model, this.tokensFor(body)));
      };
      if (this.headerDelayMs > 0) setTimeout(answer, this.headerDelayMs);
      else answer();
    });
  }

  private stream(res: ServerResponse, path: string, model: string, body: Record<string, unknown>): void {
    const chat = path.endsWith('/chat/completions');
    const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const dieAfter = this.dieAfterChunks;
    this.dieAfterChunks = -1;
    const crashAfter = this.crashAfterChunks;
    this.crashAfterChunks = -1;
    const pad = ' '.repeat(this.chunkPadding);
    const tokens = this.tokensFor(body);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    let i = 0;
    const next = () => {
      if (res.destroyed) return;
      if (i === dieAfter) {
        res.socket?.destroy();
        return;
      }
      if (i === crashAfter) {
        void this.stop();
        return;
      }
      if (i < tokens) {
        const chunk = streamChunk(chat, model, i, i === tokens - 1, pad);
        i++;
        // Respect the proxy's backpressure like a real server does.
        if (res.write(`data: ${JSON.stringify(chunk)}\n\n`)) setTimeout(next, this.chunkDelayMs);
        else res.once('drain', next);
        return;
      }
      if (includeUsage) {
        const usage = { prompt_tokens: 7, total_tokens: 7 + tokens, completion_tokens: tokens };
        const obj = chat ? 'chat.completion.chunk' : 'text_completion';
        res.write(`data: ${JSON.stringify({ id: 'cmpl-1', object: obj, created: 1, model, choices: [], usage })}\n\n`);
      }
      res.end('data: [DONE]\n\n');
    };
    next();
  }

  /** Tokens in an answer: `chunks`, or fewer when the request's max_tokens says so. */
  private tokensFor(body: Record<string, unknown>): number {
    const max = body.max_tokens ?? body.max_completion_tokens;
    return typeof max === 'number' && max > 0 ? Math.min(max, this.chunks) : this.chunks;
  }

  private modelList(): unknown {
    const card = (id: string, parent: string | null) => ({
      id,
      object: 'model',
      created: 1,
      owned_by: 'vllm',
      root: parent === null ? id : `/adapters/${id}`,
      parent,
      max_model_len: 4096,
      permission: [],
    });
    return { object: 'list', data: [card(this.model, null), ...this.adapters.map((a) => card(a, this.model))] };
  }

  private metrics(res: ServerResponse): void {
    const m = `model_name="${this.model}"`;
    const text = [
      `vllm:num_requests_running{${m}} ${this.stats.inflight}`,
      `vllm:num_requests_waiting{${m}} ${this.waiting}`,
      `vllm:kv_cache_usage_perc{${m}} 0.1`,
      `vllm:lora_requests_info{max_lora="${this.maxLora}",running_lora_adapters="${this.adapters.join(',')}",waiting_lora_adapters=""} 1.7e9`,
      '',
    ].join('\n');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(text);
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function vllmError(message: string, code: number): unknown {
  return { error: { message, type: code === 404 ? 'NotFoundError' : 'BadRequestError', param: null, code } };
}

function completion(path: string, model: string, tokens: number): unknown {
  const usage = { prompt_tokens: 7, total_tokens: 7 + tokens, completion_tokens: tokens };
  if (path.endsWith('/chat/completions')) {
    return {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'hello '.repeat(tokens).trim() }, logprobs: null, finish_reason: 'length' }],
      usage,
    };
  }
  return {
    id: 'cmpl-1',
    object: 'text_completion',
    created: 1,
    model,
    choices: [{ index: 0, text: 'hello '.repeat(tokens).trim(), logprobs: null, finish_reason: 'length', stop_reason: null }],
    usage,
  };
}

function streamChunk(chat: boolean, model: string, i: number, last: boolean, pad: string): unknown {
  const finish = last ? 'length' : null;
  if (chat) {
    return {
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1,
      model,
      choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: 'hello' + pad } : { content: ' hello' + pad }, logprobs: null, finish_reason: finish }],
    };
  }
  return { id: 'cmpl-1', object: 'text_completion', created: 1, model, choices: [{ index: 0, text: ' hello' + pad, logprobs: null, finish_reason: finish }] };
}

function embedding(model: string): unknown {
  return {
    object: 'list',
    data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }],
    model,
    usage: { prompt_tokens: 3, total_tokens: 3 },
  };
}
