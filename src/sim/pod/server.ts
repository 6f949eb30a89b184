/**
 * A simulated vLLM pod: the engine model behind a real HTTP server on its own port, speaking
 * vLLM's OpenAI-compatible API, LoRA management endpoints, /health and /metrics.
 */
import { EngineEventTap, KvEventsPublisher, type KvEventsPublisherOptions } from './kv-events-publisher.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Engine } from '../engine/engine.js';
import { resolveProfile, type EngineProfile } from '../../workload/engine-profile.js';
import { hashString } from '../../util/random.js';
import { RealTimeScheduler, type SimScheduler } from '../engine/scheduler.js';
import { FaultDice, resolveFaults, type PodFaults } from './faults.js';
import { LoraInfoSeries, renderMetrics } from './metrics-text.js';
import { parseInference, type ApiKind } from './openai-request.js';
import { errorBody, type ResponseHead } from './openai-response.js';
import { runInference, sendJson } from './inference-stream.js';
import { modelList } from './models-list.js';
import { embeddingsResponse, parseEmbeddings } from './embeddings.js';
import { loadInfo, modelInfo, serverInfo } from './sglang-api.js';
import { SglangRates, renderSglangMetrics } from './sglang-metrics-text.js';
import { renderJetstreamMetrics } from './jetstream-metrics-text.js';
import { PieceMemory, detokenizeBody, modelField, tokenizeBody, type ApiError } from './tokenize-api.js';
import { SimRequest } from '../engine/request.js';
import { tokenize } from '../../workload/tokenizer.js';

/** The vLLM version whose API the simulator follows (answered on `/version`). */
export const VLLM_API_VERSION = '0.11.0';

/** Which model server a pod imitates: its metric names and native endpoints. */
export type SimEngineType = 'vllm' | 'sglang' | 'jetstream';

/** Largest request body a pod accepts. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Options of one simulated pod. */
export interface SimPodOptions {
  /** Listen address; loopback by default. */
  host?: string;
  /** Listen port; 0 picks a free one. */
  port?: number;
  /** Engine profile (already resolved); defaults to the default profile. */
  profile?: EngineProfile;
  /** Served model name; defaults to the profile's model. */
  modelName?: string;
  /** LoRA adapters registered at start (`--lora-modules`). */
  loraModules?: ReadonlyArray<{ name: string; path?: string }>;
  /** Whether LoRA is enabled (`--enable-lora`); defaults to true when `maxLoras` > 0. */
  enableLora?: boolean;
  /** `max_tokens` used for chat requests that omit it. */
  chatMaxTokens?: number;
  /** Tokens per SSE chunk (1 = one event per token, like vLLM). */
  streamChunkTokens?: number;
  /** Injected faults. */
  faults?: Partial<PodFaults>;
  /** Seed for fault dice. */
  seed?: number;
  /** Time source; wall clock by default. */
  scheduler?: SimScheduler;
  /** Pod index, used in response ids. */
  index?: number;
  /**
   * Model server to imitate (default `vllm`): `sglang` switches /metrics names and native
   * endpoints; `jetstream` switches /metrics to JetStream's names (the OpenAI API stays).
   */
  engineType?: SimEngineType;
  /** Publish vLLM KV-cache events over ZMQ from the block pool (`--kv-events`); absent: none. */
  kvEvents?: Partial<KvEventsPublisherOptions>;
}

export class SimPod {
  readonly engine: Engine;
  readonly modelName: string;
  readonly loraEnabled: boolean;
  readonly engineType: SimEngineType;
  /** Requests refused before reaching the engine, by reason (bad JSON, unknown model, ...). */
  readonly rejected = new Map<string, number>();
  faults: PodFaults;

  private readonly server: http.Server;
  private readonly scheduler: SimScheduler;
  private readonly dice: FaultDice;
  private readonly loraSeries = new LoraInfoSeries();
  private readonly createdAt = Date.now() / 1000;
  private readonly chatMaxTokens: number;
  private readonly chunkTokens: number;
  private readonly index: number;
  private counter = 0;
  /** Inference and embedding requests being answered (vLLM's `/load` `server_load`). */
  private inflight = 0;
  private readonly pieces = new PieceMemory();
  private readonly sglangRates = new SglangRates(performance.now());
  private lagHistory: Array<{ t: number; text: string }> = [];
  private lagTimer: NodeJS.Timeout | null = null;
  private addressInfo: AddressInfo | null = null;
  /** The KV-events publisher, when enabled. */
  kvEvents: KvEventsPublisher | null = null;

  private constructor(opts: SimPodOptions) {
    this.scheduler = opts.scheduler ?? new RealTimeScheduler();
    const profile = opts.profile ?? resolveProfile();
    this.engine = new Engine(profile, this.scheduler);
    this.modelName = opts.modelName ?? profile.model;
    this.loraEnabled = opts.enableLora ?? profile.maxLoras > 0;
    for (const m of opts.loraModules ?? []) this.engine.loras.register(m.name, m.path ?? `/adapters/${m.name}`);
    this.chatMaxTokens = opts.chatMaxTokens ?? 128;
    this.chunkTokens = Math.max(1, Math.floor(opts.streamChunkTokens ?? 1));
    this.index = opts.index ?? 0;
    this.engineType = opts.engineType ?? 'vllm';
    this.faults = resolveFaults(opts.faults);
    this.dice = new FaultDice(opts.seed ?? hashString(`pod-${this.index}`));
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
  }

  /** Starts a pod and resolves once it listens. */
  static async start(opts: SimPodOptions = {}): Promise<SimPod> {
    const pod = new SimPod(opts);
    await new Promise<void>((resolve, reject) => {
      pod.server.once('error', reject);
      pod.server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
        pod.server.off('error', reject);
        resolve();
      });
    });
    pod.addressInfo = pod.server.address() as AddressInfo;
    pod.updateLagTimer();
    if (opts.kvEvents !== undefined) {
      const publisher = new KvEventsPublisher({ host: pod.address, ...opts.kvEvents });
      try {
        await publisher.start();
      } catch (err) {
        await pod.close();
        throw err;
      }
      pod.kvEvents = publisher;
      const tap = new EngineEventTap((events) => void publisher.publish(events));
      pod.engine.kv.storeListener = tap;
      pod.engine.pool.evictionListener = tap;
    }
    return pod;
  }

  /** Listening address. */
  get address(): string {
    return this.addressInfo?.address ?? '127.0.0.1';
  }

  /** Listening port. */
  get port(): number {
    return this.addressInfo?.port ?? 0;
  }

  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  get url(): string {
    const a = this.address.includes(':') ? `[${this.address}]` : this.address;
    return `http://${a}:${this.port}`;
  }

  /** Changes faults at run time (tests, chaos runs). */
  setFaults(partial: Partial<PodFaults>): void {
    this.faults = resolveFaults({ ...this.faults, ...partial });
    this.updateLagTimer();
  }

  /** Stops serving: closes the listener and every connection, cancels engine timers. */
  async close(): Promise<void> {
    if (this.lagTimer !== null) clearInterval(this.lagTimer);
    this.lagTimer = null;
    this.engine.stop();
    await this.kvEvents?.close();
    if (this.scheduler instanceof RealTimeScheduler) this.scheduler.cancelAll();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** The /metrics page as it reads now. */
  metricsText(): string {
    if (this.engineType === 'jetstream') return renderJetstreamMetrics(this.engine, this.modelName, `sim-pod-${this.port}`, this.createdAt, this.rejected);
    if (this.engineType === 'sglang') {
      return renderSglangMetrics(this.engine, this.modelName, this.sglangRates, performance.now(), this.rejected);
    }
    return renderMetrics({
      engine: this.engine,
      modelName: this.modelName,
      loraEnabled: this.loraEnabled,
      loraSeries: this.loraSeries,
      createdAt: this.createdAt,
      nowUnix: Date.now() / 1000,
      rejected: this.rejected,
    });
  }

  private reject(res: http.ServerResponse, status: number, type: string, message: string, reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
    sendJson(res, status, errorBody(status, type, message));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    const method = req.method ?? 'GET';
    const sglang = this.engineType === 'sglang';
    if (method === 'GET' && path === '/health') {
      res.writeHead(this.faults.unhealthy ? 503 : 200).end();
      return;
    }
    if (method === 'GET' && path === '/metrics') return this.serveMetrics(res);
    if (method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, modelList(this.modelName, this.engine.profile.maxModelLen, this.engine.loras.registered, this.createdAt, this.engineType === 'sglang' ? 'sglang' : 'vllm'));
    }
    if (method === 'POST' && (path === '/v1/completions' || path === '/v1/chat/completions')) {
      this.track(res);
      readBody(req, (err, body) => {
        if (err !== null) return this.reject(res, 413, 'BadRequestError', err, 'body_too_large');
        this.serveInference(path === '/v1/completions' ? 'completions' : 'chat', body, res);
      });
      return;
    }
    if (method === 'POST' && path === '/v1/embeddings') {
      this.track(res);
      return this.withJson(req, res, (b) => this.serveEmbeddings(b, res));
    }
    if (method === 'POST' && (path === '/v1/load_lora_adapter' || path === '/v1/unload_lora_adapter')) {
      readBody(req, (err, body) => {
        if (err !== null) return this.reject(res, 413, 'BadRequestError', err, 'body_too_large');
        this.serveLora(path === '/v1/load_lora_adapter', body, res);
      });
      return;
    }
    if (method === 'POST' && (path === '/tokenize' || path === '/detokenize')) {
      this.withJson(req, res, (b) => {
        const known = this.checkModel(b);
        if (known !== null) return this.rejectWith(res, known, 'unknown_model');
        const out = path === '/tokenize' ? tokenizeBody(b, this.engine.profile.maxModelLen, this.pieces) : detokenizeBody(b, this.pieces);
        if (typeof out === 'string') sendJson(res, 200, out);
        else this.rejectWith(res, out, 'bad_request');
      });
      return;
    }
    if (path === '/v1/responses') {
      // Not simulated (README says so): a clear error in vLLM's shape rather than a bare 404.
      return this.reject(res, 404, 'NotFoundError', 'The simulated pod does not implement the Responses API; use /v1/chat/completions or /v1/completions.', 'not_simulated');
    }
    if (!sglang) {
      if (method === 'GET' && path === '/version') return sendJson(res, 200, JSON.stringify({ version: VLLM_API_VERSION }));
      if ((method === 'GET' || method === 'POST') && path === '/ping') {
        res.writeHead(this.faults.unhealthy ? 503 : 200).end();
        return;
      }
      if (method === 'GET' && path === '/load') return sendJson(res, 200, JSON.stringify({ server_load: this.inflight }));
    } else {
      if (method === 'GET' && (path === '/get_server_info' || path === '/server_info')) {
        const info = { engine: this.engine, modelName: this.modelName, host: this.address, port: this.port, loraEnabled: this.loraEnabled };
        return sendJson(res, 200, serverInfo({ ...info, genThroughput: this.sglangRates.genThroughput }));
      }
      if (method === 'GET' && path === '/get_load') return sendJson(res, 200, loadInfo(this.engine, performance.now() / 1000));
      if (method === 'GET' && (path === '/get_model_info' || path === '/model_info')) return sendJson(res, 200, modelInfo(this.engine, this.modelName));
      if ((method === 'GET' || method === 'POST') && path === '/health_generate') return this.healthGenerate(res);
    }
    sendJson(res, 404, '{"detail":"Not Found"}');
  }

  /** Counts `res` in `/load` until it closes. */
  private track(res: http.ServerResponse): void {
    this.inflight++;
    res.once('close', () => this.inflight--);
  }

  /** Reads a JSON object body, answering 413/400 itself when it is not one. */
  private withJson(req: http.IncomingMessage, res: http.ServerResponse, then: (body: Record<string, unknown>) => void): void {
    readBody(req, (err, body) => {
      if (err !== null) return this.reject(res, 413, 'BadRequestError', err, 'body_too_large');
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (e) {
        return this.reject(res, 400, 'BadRequestError', `invalid JSON body: ${(e as Error).message}`, 'bad_json');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        return this.reject(res, 400, 'BadRequestError', 'request body must be a JSON object', 'bad_request');
      }
      then(parsed as Record<string, unknown>);
    });
  }

  private rejectWith(res: http.ServerResponse, e: ApiError, reason: string): void {
    this.reject(res, e.status, e.type, e.message, reason);
  }

  /** A `model` field naming neither the base model nor a registered adapter: vLLM's 404. */
  private checkModel(body: Record<string, unknown>): ApiError | null {
    const m = modelField(body);
    if (m === null) return null;
    if (typeof m !== 'string') return m;
    if (m === this.modelName || this.engine.loras.registered.has(m)) return null;
    return { status: 404, type: 'NotFoundError', message: `The model \`${m}\` does not exist.` };
  }

  private serveEmbeddings(body: Record<string, unknown>, res: http.ServerResponse): void {
    const known = this.checkModel(body);
    if (known !== null) return this.rejectWith(res, known, 'unknown_model');
    const p = this.engine.profile;
    if (p.embeddingDim === 0) return this.reject(res, 400, 'BadRequestError', 'The model does not support Embeddings API', 'unsupported_api');
    const parsed = parseEmbeddings(body, p.embeddingDim);
    if ('status' in parsed) return this.rejectWith(res, parsed, 'bad_request');
    let tokens = 0;
    for (const t of parsed.inputs) {
      if (t.length > p.maxModelLen) {
        return this.reject(
          res,
          400,
          'BadRequestError',
          `This model's maximum context length is ${p.maxModelLen} tokens. However, you requested ${t.length} tokens in the input for embedding generation. Please reduce the length of the input.`,
          'bad_request',
        );
      }
      tokens += t.length;
    }
    this.engine.counters.promptTokens += tokens;
    // An embedding is one prefill pass: API overhead plus one step's fixed and per-token cost.
    const us = p.apiOverheadUs + p.c0Us + (p.apiOverheadPerTokenUs + p.cPrefillUs) * tokens;
    const id = `embd-sim${this.index}-${++this.counter}`;
    const created = Math.floor(Date.now() / 1000);
    const model = typeof body.model === 'string' ? body.model : this.modelName;
    this.scheduler.at(this.scheduler.now() + us / 1000, () => sendJson(res, 200, embeddingsResponse(id, created, model, parsed, p.embeddingDim)));
  }

  /** SGLang's `/health_generate`: 200 once a one-token generation went through the engine. */
  private healthGenerate(res: http.ServerResponse): void {
    if (this.faults.unhealthy) {
      res.writeHead(503).end();
      return;
    }
    if (this.engine.profile.embeddingDim > 0) {
      res.writeHead(200).end();
      return;
    }
    const prompt = tokenize('health check ');
    const answer = (status: number): void => {
      if (!res.headersSent && !res.destroyed) res.writeHead(status).end();
    };
    const req = new SimRequest({
      id: `health-sim${this.index}-${++this.counter}`,
      prompt,
      maxTokens: 1,
      outputSeed: 1,
      lora: null,
      sink: { onToken: () => {}, onFinish: () => answer(200), onFail: () => answer(503) },
    });
    this.engine.submit(req);
  }

  private serveMetrics(res: http.ServerResponse): void {
    const f = this.faults;
    const answer = (): void => {
      if (res.destroyed) return;
      if (this.dice.roll(f.metricsFailRate)) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('injected metrics failure');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(this.laggedMetrics());
    };
    if (f.metricsDelayMs > 0) setTimeout(answer, f.metricsDelayMs);
    else answer();
  }

  private laggedMetrics(): string {
    const lag = this.faults.metricsLagMs;
    if (lag <= 0 || this.lagHistory.length === 0) return this.metricsText();
    const cutoff = performance.now() - lag;
    let pick = this.lagHistory[0];
    for (const h of this.lagHistory) if (h.t <= cutoff) pick = h;
    return pick.text;
  }

  private updateLagTimer(): void {
    const lag = this.faults.metricsLagMs;
    if (lag <= 0) {
      if (this.lagTimer !== null) clearInterval(this.lagTimer);
      this.lagTimer = null;
      this.lagHistory = [];
      return;
    }
    if (this.lagTimer !== null) clearInterval(this.lagTimer);
    const every = Math.max(5, Math.min(50, lag / 4));
    const record = (): void => {
      const t = performance.now();
      this.lagHistory.push({ t, text: this.metricsText() });
      while (this.lagHistory.length > 2 && this.lagHistory[1].t <= t - lag - every) this.lagHistory.shift();
    };
    record();
    this.lagTimer = setInterval(record, every);
    this.lagTimer.unref();
  }

  private serveLora(load: boolean, body: Buffer, res: http.ServerResponse): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return this.reject(res, 400, 'BadRequestError', 'invalid JSON body', 'bad_json');
    }
    const name = (parsed as { lora_name?: unknown } | null)?.lora_name;
    if (typeof name !== 'string' || name === '') {
      return this.reject(res, 400, 'BadRequestError', 'lora_name must be a non-empty string', 'bad_request');
    }
    if (!this.loraEnabled) return this.reject(res, 400, 'BadRequestError', 'LoRA is not enabled on this server', 'lora_disabled');
    const loras = this.engine.loras;
    if (load) {
      const path = (parsed as { lora_path?: unknown }).lora_path;
      if (typeof path !== 'string' || path === '') {
        return this.reject(res, 400, 'BadRequestError', 'lora_path must be a non-empty string', 'bad_request');
      }
      if (name === this.modelName || !loras.register(name, path)) {
        return this.reject(res, 400, 'BadRequestError', `The lora adapter '${name}' has already been loaded.`, 'lora_exists');
      }
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`Success: LoRA adapter '${name}' added successfully.`);
      return;
    }
    if (!loras.unregister(name)) return this.reject(res, 404, 'NotFoundError', `The lora adapter '${name}' cannot be found.`, 'lora_unknown');
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`Success: LoRA adapter '${name}' removed successfully.`);
  }

  private serveInference(kind: ApiKind, body: Buffer, res: http.ServerResponse): void {
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch (e) {
      return this.reject(res, 400, 'BadRequestError', `invalid JSON body: ${(e as Error).message}`, 'bad_json');
    }
    if (this.engine.profile.embeddingDim > 0) {
      const api = kind === 'chat' ? 'Chat Completions API' : 'Completions API';
      return this.reject(res, 400, 'BadRequestError', `The model does not support ${api}`, 'unsupported_api');
    }
    const parsed = parseInference(kind, raw, { model: this.modelName, chatMaxTokens: this.chatMaxTokens });
    if ('status' in parsed) return this.reject(res, parsed.status, parsed.type, parsed.message, 'bad_request');
    const lora = parsed.model === this.modelName ? null : parsed.model;
    if (lora !== null && !this.engine.loras.registered.has(lora)) {
      return this.reject(res, 404, 'NotFoundError', `The model \`${lora}\` does not exist.`, 'unknown_model');
    }
    const invalid = this.engine.validate(parsed.prompt.length, parsed.maxTokens, lora);
    if (invalid !== null) return this.reject(res, 400, 'BadRequestError', invalid, 'bad_request');
    if (this.dice.roll(this.faults.errorRate)) {
      const s = this.faults.errorStatus;
      return this.reject(res, s, 'InternalServerError', 'injected failure', 'injected_error');
    }
    const dropAt = this.dice.roll(this.faults.dropRate) ? this.dice.dropAfter(parsed.maxTokens) : -1;
    const n = ++this.counter;
    const head: ResponseHead = {
      kind: parsed.kind,
      id: `${parsed.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-sim${this.index}-${n}`,
      created: Math.floor(Date.now() / 1000),
      model: parsed.model,
    };
    runInference(this.engine, parsed, lora, head, { dropAt, chunkTokens: this.chunkTokens }, res);
  }
}

function readBody(req: http.IncomingMessage, done: (err: string | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  req.on('data', (c: Buffer) => {
    if (failed) return;
    size += c.length;
    if (size > MAX_BODY_BYTES) {
      failed = true;
      done(`request body exceeds ${MAX_BODY_BYTES} bytes`, Buffer.alloc(0));
      req.resume();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (!failed) done(null, Buffer.concat(chunks, size));
  });
  req.on('error', () => {
    failed = true;
  });
}
