/**
 * An ext_proc client that behaves like Envoy's ext_proc filter (see
 * shared/reference/envoy-ext-proc.md §2), driven over a real gRPC connection:
 *
 * - one Process stream per HTTP exchange, `protocol_config` on the first message (optional);
 * - lower-cased header keys, pseudo-headers, values in `raw_value` (or legacy `value`);
 * - `metadata_context` on every message; subset hint and served-endpoint injection;
 * - FULL_DUPLEX_STREAMED: body chunks sent without waiting, headers response required first,
 *   body responses must be `streamed_response`, upstream gets only what comes back;
 * - BUFFERED: body held until the headers are answered, then sent whole; per-message timer;
 *   header mutations in the body response applied; Content-Length checked against a replaced body;
 * - header mutations validated like Envoy (both value fields = error, `raw_value` used, system
 *   headers ignored, content-length skipped in streamed modes); clear_route_cache only with a
 *   mutation; dynamic metadata only for receiving namespaces;
 * - immediate responses become local replies; a gRPC error becomes 500;
 * - ORIGINAL_DST upstream selection from the routing header (one ip:port);
 * - the stream ends by reset (RST_STREAM) by default, or by half-close.
 *
 * Protocol violations by the server (what Envoy counts as spurious messages) throw
 * `EnvoyProtocolError`, so tests fail loudly instead of passing on a lenient client.
 */
import { credentials as grpcCredentials, Client, type ChannelCredentials, type ChannelOptions, type ClientDuplexStream } from '@grpc/grpc-js';
import { headerValueText } from '../../src/frontends/extproc/headers.js';
import {
  decodeProcessingResponse,
  encodeProcessingRequest,
  PROCESS_PATH,
} from '../../src/frontends/extproc/codec.js';
import {
  BodySendMode,
  type BodySendModeValue,
  type CommonResponse,
  type HeaderMutation,
  type HeaderValue,
  type Metadata,
  type ProcessingRequest,
  type ProcessingResponse,
  type ProtoStruct,
  type ProtoValue,
} from '../../src/frontends/extproc/messages.js';

/** A server response Envoy would reject as spurious or invalid. */
export class EnvoyProtocolError extends Error {}

export type HeaderList = Array<[string, string]>;

export interface EnvoyClientOptions {
  /** `host:port` of the ext_proc server. */
  address: string;
  /** Channel credentials (default insecure). */
  credentials?: ChannelCredentials;
  /** Extra grpc-js channel options (e.g. `grpc.ssl_target_name_override`). */
  channelOptions?: ChannelOptions;
  /** Request and response body mode (default FULL_DUPLEX_STREAMED). */
  bodyMode?: BodySendModeValue;
  /** Send protocol_config on the first message, as Envoy 1.34+ does (default true). */
  sendProtocolConfig?: boolean;
  /** Send header values in `value` instead of `raw_value` (pre-1.27 Envoy; GIE's harness). */
  legacyHeaderValue?: boolean;
  /** Namespaces whose dynamic metadata Envoy applies (default ["envoy.lb"]). */
  receivingNamespaces?: string[];
  /** How the stream ends after the exchange: reset (Envoy's default) or half-close. */
  endStream?: 'reset' | 'half-close';
  /** BUFFERED mode per-message timeout (Envoy default 200 ms; FULL_DUPLEX has none). */
  messageTimeoutMs?: number;
  /** Upper bound on any wait in FULL_DUPLEX mode, so tests never hang (default 10 s). */
  waitLimitMs?: number;
}

export interface HttpRequest {
  method?: string;
  path?: string;
  authority?: string;
  scheme?: string;
  /** Extra request headers (keys are lower-cased like Envoy does). */
  headers?: Record<string, string> | HeaderList;
  /** Body; null or undefined = header-only request. */
  body?: Buffer | string | null;
  /** How to split the body into chunks (FULL_DUPLEX): byte offsets where a new chunk starts. */
  splitAt?: number[];
  /** Send a last empty chunk with end_of_stream (as Envoy often does) instead of eos on the last data chunk. */
  emptyLastChunk?: boolean;
  /** Request trailers (then body chunks keep end_of_stream false). */
  trailers?: Record<string, string>;
  /** Subset hint to put in metadata_context (`envoy.lb.subset_hint`); a string is sent as-is. */
  subset?: string[] | string;
  /** Extra metadata_context namespaces. */
  metadata?: Record<string, Record<string, unknown>>;
}

/** What the request phase produced. */
export type RequestOutcome =
  | {
      kind: 'upstream';
      /** Headers as the upstream request would carry them after mutations. */
      headers: HeaderList;
      /** Body the upstream receives (only what the server streamed back, in FULL_DUPLEX). */
      body: Buffer;
      /** Dynamic metadata applied (receiving namespaces only), as plain objects. */
      metadata: Record<string, Record<string, unknown>>;
      /** Whether Envoy would clear the route cache. */
      routeCacheCleared: boolean;
      /** The host ORIGINAL_DST would pick from the routing header, or null if it does not parse. */
      originalDst: string | null;
      /** The raw responses of the phase, in order. */
      responses: ProcessingResponse[];
    }
  | LocalReply;

export interface LocalReply {
  kind: 'local-reply';
  status: number;
  body: string;
  /** Headers the immediate response set on the local reply (none for gRPC failures). */
  headers?: HeaderList;
  /** gRPC status code when the reply comes from the stream failing, else null. */
  grpcCode: number | null;
}

export interface HttpResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Body chunks, sent in order (FULL_DUPLEX one message each); empty/absent = no body. */
  chunks?: Array<Buffer | string>;
  /** Served endpoint injected as `envoy.lb/x-gateway-destination-endpoint-served`. */
  served?: string;
  trailers?: Record<string, string>;
  /** FULL_DUPLEX: wait this long before sending chunk i (ms; index 0 unused), as a pod's stream paces them. */
  chunkGapsMs?: number[];
}

export type ResponseOutcome =
  | { kind: 'downstream'; headers: HeaderList; body: Buffer; bodyResponses: number; responses: ProcessingResponse[] }
  | LocalReply;

type Inbound = { kind: 'message'; msg: ProcessingResponse } | { kind: 'end'; code: number; details: string };

/** Builds google.protobuf.Value from a JS value. */
export function jsToValue(v: unknown): ProtoValue {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsToValue) } };
  return { structValue: jsToStruct(v as Record<string, unknown>) };
}

export function jsToStruct(o: Record<string, unknown>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = jsToValue(v);
  return { fields };
}

/** Converts google.protobuf.Value (as decoded) to a JS value. */
export function valueToJs(v: ProtoValue): unknown {
  if (v.structValue) return structToJs(v.structValue);
  if (v.listValue) return (v.listValue.values ?? []).map(valueToJs);
  if (Object.prototype.hasOwnProperty.call(v, 'stringValue')) return v.stringValue;
  if (Object.prototype.hasOwnProperty.call(v, 'numberValue')) return v.numberValue;
  if (Object.prototype.hasOwnProperty.call(v, 'boolValue')) return v.boolValue;
  return null;
}

export function structToJs(s: ProtoStruct): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s.fields ?? {})) out[k] = valueToJs(v);
  return out;
}

function toBuffer(b: Buffer | string): Buffer {
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
}

function headerEntries(h: Record<string, string> | HeaderList | undefined): HeaderList {
  if (h === undefined) return [];
  const list = Array.isArray(h) ? h : Object.entries(h);
  return list.map(([k, v]) => [k.toLowerCase(), v]);
}

const IGNORED_MUTATIONS = new Set(['host', ':authority', ':scheme', ':method']);

/** Parses `ip:port` / `[v6]:port` like Envoy's parseInternetAddressAndPortNoThrow; null if invalid. */
export function parseIpPort(value: string): string | null {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9a-fA-F:.]+)\]):(\d{1,5})$/.exec(value);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  if (m[1] !== undefined && m[1].split('.').some((o) => Number(o) > 255)) return null;
  return value;
}

/** Applies a HeaderMutation the way Envoy's MutationUtils does; throws EnvoyProtocolError on invalid ones. */
export function applyHeaderMutation(headers: HeaderList, mutation: HeaderMutation | null | undefined, skipContentLength: boolean): HeaderList {
  if (!mutation) return headers;
  let out = headers;
  for (const name of mutation.removeHeaders ?? []) {
    const key = name.toLowerCase();
    if (key.startsWith(':') || key === 'host') continue; // ignored by Envoy
    out = out.filter(([k]) => k !== key);
  }
  for (const opt of mutation.setHeaders ?? []) {
    const hv = opt.header;
    if (!hv || !hv.key) throw new EnvoyProtocolError('header mutation without a key');
    const raw = hv.rawValue && hv.rawValue.length > 0 ? Buffer.from(hv.rawValue) : null;
    if (raw !== null && hv.value) throw new EnvoyProtocolError('Only one of value or raw_value in the HeaderValue message should be set.');
    const key = hv.key.toLowerCase();
    if (!/^[a-z0-9!#$%&'*+\-.^_`|~:]+$/.test(key)) throw new EnvoyProtocolError(`invalid header name ${key}`);
    if (IGNORED_MUTATIONS.has(key) || key.startsWith('x-envoy')) continue;
    if (key === 'content-length' && skipContentLength) continue;
    // Envoy reads raw_value only; a header sent with `value` alone ends up empty.
    const value = raw === null ? '' : raw.toString('latin1');
    if (/[\r\n\0]/.test(value)) throw new EnvoyProtocolError(`invalid header value for ${key}`);
    const append = opt.append?.value === true;
    out = append ? [...out, [key, value]] : [...out.filter(([k]) => k !== key), [key, value]];
  }
  return out;
}

/** Reads one header (first value). */
export function header(headers: HeaderList, name: string): string | undefined {
  return headers.find(([k]) => k === name)?.[1];
}

/** One Process stream = one HTTP exchange. */
export class EnvoyExchange {
  readonly call: ClientDuplexStream<ProcessingRequest, ProcessingResponse>;
  private readonly inbox: Inbound[] = [];
  private waiter: ((m: Inbound) => void) | null = null;
  private first = true;
  private closed = false;
  private readonly opts: Required<Omit<EnvoyClientOptions, 'credentials' | 'address' | 'channelOptions'>>;
  private metadataContext: Metadata | null = null;
  /** Every response received, in order. */
  readonly received: ProcessingResponse[] = [];
  private requestHeaders: HeaderList = [];

  constructor(client: Client, opts: Required<Omit<EnvoyClientOptions, 'credentials' | 'address' | 'channelOptions'>>) {
    this.opts = opts;
    this.call = client.makeBidiStreamRequest(
      PROCESS_PATH,
      encodeProcessingRequest,
      decodeProcessingResponse,
    ) as ClientDuplexStream<ProcessingRequest, ProcessingResponse>;
    this.call.on('data', (msg: ProcessingResponse) => {
      this.received.push(msg);
      this.push({ kind: 'message', msg });
    });
    this.call.on('status', (s: { code: number; details: string }) => this.push({ kind: 'end', code: s.code, details: s.details }));
    this.call.on('error', () => {}); // the 'status' event carries the outcome
  }

  private push(item: Inbound): void {
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w(item);
    } else {
      this.inbox.push(item);
    }
  }

  /** Next server message or the stream's end; rejects after `timeoutMs`. */
  next(timeoutMs = this.opts.waitLimitMs): Promise<Inbound> {
    const queued = this.inbox.shift();
    if (queued !== undefined) {
      if (queued.kind === 'end') this.inbox.unshift(queued); // the end stays observable
      return Promise.resolve(queued);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no ext_proc message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (m) => {
        clearTimeout(timer);
        if (m.kind === 'end') this.inbox.unshift(m);
        resolve(m);
      };
    });
  }

  /** True if a message (not the end) is already waiting. */
  hasPending(): boolean {
    return this.inbox.some((m) => m.kind === 'message');
  }

  /** Sends one ProcessingRequest, adding protocol_config (first message) and metadata_context. */
  send(msg: ProcessingRequest): void {
    if (this.first) {
      this.first = false;
      if (this.opts.sendProtocolConfig && msg.protocolConfig === undefined) {
        msg.protocolConfig = { requestBodyMode: this.opts.bodyMode, responseBodyMode: this.opts.bodyMode };
      }
    }
    if (this.metadataContext !== null && msg.metadataContext === undefined) msg.metadataContext = this.metadataContext;
    this.call.write(msg);
  }

  private headerMap(list: HeaderList): { headers: HeaderValue[] } {
    return {
      headers: list.map(([key, value]) =>
        this.opts.legacyHeaderValue ? { key, value } : { key, rawValue: Buffer.from(value, 'latin1') },
      ),
    };
  }

  private localReplyFrom(m: Inbound): LocalReply | null {
    if (m.kind === 'end') {
      if (m.code === 0) return null;
      return { kind: 'local-reply', status: 500, body: `ext_proc_error_gRPC_error_${m.code}{${m.details}}`, grpcCode: m.code };
    }
    const ir = m.msg.immediateResponse;
    if (!ir) return null;
    let status = ir.status?.code ?? 0;
    if (status < 200) status = 200; // Envoy replaces informational codes
    this.end();
    const headers: HeaderList = (ir.headers?.setHeaders ?? []).map((o) => [String(o.header?.key ?? ''), headerValueText(o.header ?? { key: '' })]);
    const reply: LocalReply = { kind: 'local-reply', status, body: Buffer.from(ir.body ?? []).toString('utf8'), grpcCode: null };
    if (headers.length > 0) reply.headers = headers;
    return reply;
  }

  private applyMetadata(target: Record<string, Record<string, unknown>>, msg: ProcessingResponse): void {
    const dm = msg.dynamicMetadata;
    if (!dm?.fields) return;
    for (const [ns, v] of Object.entries(dm.fields)) {
      if (!this.opts.receivingNamespaces.includes(ns)) continue;
      if (v.structValue) target[ns] = { ...(target[ns] ?? {}), ...structToJs(v.structValue) };
    }
  }

  /** Runs the request phase of `req` and returns what Envoy would send upstream (or the local reply). */
  async sendRequest(req: HttpRequest): Promise<RequestOutcome> {
    const mode = this.opts.bodyMode;
    const body = req.body === null || req.body === undefined ? null : toBuffer(req.body);
    const headers: HeaderList = [
      [':authority', req.authority ?? 'gateway.example:8081'],
      [':path', req.path ?? '/v1/completions'],
      [':method', req.method ?? (body === null ? 'GET' : 'POST')],
      [':scheme', req.scheme ?? 'http'],
      ...headerEntries(req.headers),
    ];
    if (body !== null && header(headers, 'content-length') === undefined && req.trailers === undefined) {
      headers.push(['content-length', String(body.length)]);
    }
    headers.push(['x-forwarded-proto', 'http']);
    this.requestHeaders = headers;
    const md: Record<string, Record<string, unknown>> = { ...(req.metadata ?? {}) };
    if (req.subset !== undefined) {
      md['envoy.lb.subset_hint'] = { 'x-gateway-destination-endpoint-subset': req.subset };
    }
    if (Object.keys(md).length > 0) {
      const filterMetadata: Record<string, ProtoStruct> = {};
      for (const [ns, o] of Object.entries(md)) filterMetadata[ns] = jsToStruct(o);
      this.metadataContext = { filterMetadata };
    }
    const hasBody = body !== null || req.trailers !== undefined;
    this.send({ requestHeaders: { headers: this.headerMap(headers), endOfStream: !hasBody } });

    const streamed = mode === BodySendMode.FULL_DUPLEX_STREAMED;
    const responses: ProcessingResponse[] = [];
    const metadata: Record<string, Record<string, unknown>> = {};
    let upstreamHeaders = headers;
    let routeCacheCleared = false;
    const applyCommon = (common: CommonResponse | null | undefined) => {
      if (!common) return;
      if (common.headerMutation) {
        upstreamHeaders = applyHeaderMutation(upstreamHeaders, common.headerMutation, streamed);
        if (common.clearRouteCache) routeCacheCleared = true;
      }
    };

    if (!hasBody) {
      const m = await this.next(streamed ? this.opts.waitLimitMs : this.opts.messageTimeoutMs).catch(() => null);
      if (m === null) return this.timeout();
      const reply = this.localReplyFrom(m);
      if (reply) return reply;
      if (m.kind !== 'message' || !m.msg.requestHeaders) throw new EnvoyProtocolError('spurious message: expected request headers response');
      responses.push(m.msg);
      applyCommon(m.msg.requestHeaders.response);
      this.applyMetadata(metadata, m.msg);
      return this.upstream(upstreamHeaders, Buffer.alloc(0), metadata, routeCacheCleared, responses);
    }

    if (streamed) {
      // FULL_DUPLEX_STREAMED: send every chunk now, without waiting for the headers response.
      const chunks = splitBody(body ?? Buffer.alloc(0), req.splitAt ?? []);
      chunks.forEach((chunk, i) => {
        const last = i === chunks.length - 1;
        const eos = last && !req.emptyLastChunk && req.trailers === undefined;
        if (chunk.length > 0 || eos || chunks.length === 1) this.send({ requestBody: { body: chunk, endOfStream: eos } });
      });
      if (req.emptyLastChunk && req.trailers === undefined) this.send({ requestBody: { body: Buffer.alloc(0), endOfStream: true } });
      if (req.trailers !== undefined) this.send({ requestTrailers: { trailers: this.headerMap(headerEntries(req.trailers)) } });

      let headersAnswered = false;
      const upstreamBody: Buffer[] = [];
      for (;;) {
        const m = await this.next();
        const reply = this.localReplyFrom(m);
        if (reply) return reply;
        if (m.kind === 'end') throw new EnvoyProtocolError('stream closed before the request phase completed');
        const msg = m.msg;
        responses.push(msg);
        this.applyMetadata(metadata, msg);
        if (msg.requestHeaders) {
          if (headersAnswered) throw new EnvoyProtocolError('spurious message: second request headers response');
          headersAnswered = true;
          applyCommon(msg.requestHeaders.response);
          continue;
        }
        if (msg.requestBody) {
          if (!headersAnswered) throw new EnvoyProtocolError('spurious message: body response before headers response');
          const sr = msg.requestBody.response?.bodyMutation?.streamedResponse;
          if (!sr) {
            throw new EnvoyProtocolError('spurious message: Normal body mutation response is received while body_mode_ is FULL_DUPLEX_STREAMED');
          }
          upstreamBody.push(Buffer.from(sr.body ?? []));
          if (sr.endOfStream) {
            if (req.trailers !== undefined) throw new EnvoyProtocolError('end_of_stream in a body response although the request has trailers');
            break;
          }
          continue;
        }
        if (msg.requestTrailers) {
          if (!headersAnswered) throw new EnvoyProtocolError('spurious message: trailers response before headers response');
          if (req.trailers === undefined) throw new EnvoyProtocolError('trailers response for a request without trailers');
          break;
        }
        throw new EnvoyProtocolError(`spurious message in request phase: ${Object.keys(msg).join(',')}`);
      }
      return this.upstream(upstreamHeaders, Buffer.concat(upstreamBody), metadata, routeCacheCleared, responses);
    }

    // BUFFERED: Envoy holds the body until the headers are answered (per-message timer running).
    const h = await this.next(this.opts.messageTimeoutMs).catch(() => null);
    if (h === null) return this.timeout();
    const hReply = this.localReplyFrom(h);
    if (hReply) return hReply;
    if (h.kind !== 'message' || !h.msg.requestHeaders) throw new EnvoyProtocolError('spurious message: expected request headers response');
    responses.push(h.msg);
    applyCommon(h.msg.requestHeaders.response);
    this.applyMetadata(metadata, h.msg);
    this.send({ requestBody: { body: body ?? Buffer.alloc(0), endOfStream: req.trailers === undefined } });
    const b = await this.next(this.opts.messageTimeoutMs).catch(() => null);
    if (b === null) return this.timeout();
    const bReply = this.localReplyFrom(b);
    if (bReply) return bReply;
    if (b.kind !== 'message' || !b.msg.requestBody) throw new EnvoyProtocolError('spurious message: expected request body response');
    responses.push(b.msg);
    this.applyMetadata(metadata, b.msg);
    const common = b.msg.requestBody.response;
    // In BUFFERED mode Envoy applies header mutations of the body response to the held headers.
    upstreamHeaders = applyHeaderMutation(upstreamHeaders, common?.headerMutation, false);
    if (common?.headerMutation && common.clearRouteCache) routeCacheCleared = true;
    let upstreamBody = body ?? Buffer.alloc(0);
    const bm = common?.bodyMutation;
    if (bm?.body !== undefined && bm.body !== null && Object.prototype.hasOwnProperty.call(bm, 'body')) upstreamBody = Buffer.from(bm.body);
    else if (bm?.clearBody) upstreamBody = Buffer.alloc(0);
    // streamed_response is silently ignored in BUFFERED mode.
    const cl = header(upstreamHeaders, 'content-length');
    if (cl !== undefined && bm && (bm.body !== undefined || bm.clearBody) && Number(cl) !== upstreamBody.length) {
      this.end();
      return { kind: 'local-reply', status: 500, body: 'mismatch between content length and the length of the mutated body', grpcCode: null };
    }
    if (req.trailers !== undefined) {
      this.send({ requestTrailers: { trailers: this.headerMap(headerEntries(req.trailers)) } });
      const t = await this.next(this.opts.messageTimeoutMs).catch(() => null);
      if (t === null) return this.timeout();
      if (t.kind !== 'message' || !t.msg.requestTrailers) throw new EnvoyProtocolError('spurious message: expected request trailers response');
      responses.push(t.msg);
    }
    return this.upstream(upstreamHeaders, upstreamBody, metadata, routeCacheCleared, responses);
  }

  private timeout(): LocalReply {
    this.end();
    return { kind: 'local-reply', status: 504, body: 'ext_proc_error_per-message_timeout_exceeded', grpcCode: null };
  }

  private upstream(
    headers: HeaderList,
    body: Buffer,
    metadata: Record<string, Record<string, unknown>>,
    routeCacheCleared: boolean,
    responses: ProcessingResponse[],
  ): RequestOutcome {
    let upstreamHeaders = headers;
    if (this.opts.bodyMode === BodySendMode.FULL_DUPLEX_STREAMED) {
      // Envoy drops content-length in streamed modes; HTTP/1 upstreams then use chunked encoding.
      upstreamHeaders = headers.filter(([k]) => k !== 'content-length');
    }
    const dst = header(upstreamHeaders, 'x-gateway-destination-endpoint');
    return {
      kind: 'upstream',
      headers: upstreamHeaders,
      body,
      metadata,
      routeCacheCleared,
      originalDst: dst === undefined ? null : parseIpPort(dst),
      responses,
    };
  }

  /** Runs the response phase: headers, then body chunks, then trailers. */
  async sendResponse(res: HttpResponse): Promise<ResponseOutcome> {
    const streamed = this.opts.bodyMode === BodySendMode.FULL_DUPLEX_STREAMED;
    const chunks = (res.chunks ?? []).map(toBuffer);
    const hasBody = chunks.length > 0 || res.trailers !== undefined;
    const headers: HeaderList = [[':status', String(res.status ?? 200)], ...headerEntries(res.headers)];
    const msg: ProcessingRequest = { responseHeaders: { headers: this.headerMap(headers), endOfStream: !hasBody } };
    if (res.served !== undefined) {
      const filterMetadata: Record<string, ProtoStruct> = { ...(this.metadataContext?.filterMetadata ?? {}) };
      filterMetadata['envoy.lb'] = jsToStruct({ 'x-gateway-destination-endpoint-served': res.served });
      msg.metadataContext = { filterMetadata };
    }
    this.send(msg);
    const responses: ProcessingResponse[] = [];
    const h = await this.next(streamed ? this.opts.waitLimitMs : this.opts.messageTimeoutMs).catch(() => null);
    if (h === null) return this.timeout();
    const hReply = this.localReplyFrom(h);
    if (hReply) return hReply;
    if (h.kind !== 'message' || !h.msg.responseHeaders) throw new EnvoyProtocolError('spurious message: expected response headers response');
    responses.push(h.msg);
    let downstream = applyHeaderMutation(headers, h.msg.responseHeaders.response?.headerMutation, streamed);
    if (!hasBody) return { kind: 'downstream', headers: downstream, body: Buffer.alloc(0), bodyResponses: 0, responses };

    const out: Buffer[] = [];
    let bodyResponses = 0;
    if (streamed) {
      for (let i = 0; i < chunks.length; i++) {
        const gap = res.chunkGapsMs?.[i] ?? 0;
        if (i > 0 && gap > 0) await new Promise((r) => setTimeout(r, gap));
        this.send({ responseBody: { body: chunks[i], endOfStream: i === chunks.length - 1 && res.trailers === undefined } });
      }
      if (chunks.length === 0 && res.trailers === undefined) this.send({ responseBody: { body: Buffer.alloc(0), endOfStream: true } });
      if (res.trailers !== undefined) this.send({ responseTrailers: { trailers: this.headerMap(headerEntries(res.trailers)) } });
      for (;;) {
        const m = await this.next();
        const reply = this.localReplyFrom(m);
        if (reply) return reply;
        if (m.kind === 'end') throw new EnvoyProtocolError('stream closed before the response phase completed');
        responses.push(m.msg);
        if (m.msg.responseBody) {
          const sr = m.msg.responseBody.response?.bodyMutation?.streamedResponse;
          if (!sr) throw new EnvoyProtocolError('spurious message: Normal body mutation response is received while body_mode_ is FULL_DUPLEX_STREAMED');
          bodyResponses++;
          out.push(Buffer.from(sr.body ?? []));
          if (sr.endOfStream) break;
          continue;
        }
        if (m.msg.responseTrailers) {
          if (res.trailers === undefined) throw new EnvoyProtocolError('trailers response for a response without trailers');
          break;
        }
        throw new EnvoyProtocolError(`spurious message in response phase: ${Object.keys(m.msg).join(',')}`);
      }
    } else {
      const whole = Buffer.concat(chunks);
      this.send({ responseBody: { body: whole, endOfStream: res.trailers === undefined } });
      const b = await this.next(this.opts.messageTimeoutMs).catch(() => null);
      if (b === null) return this.timeout();
      const reply = this.localReplyFrom(b);
      if (reply) return reply;
      if (b.kind !== 'message' || !b.msg.responseBody) throw new EnvoyProtocolError('spurious message: expected response body response');
      responses.push(b.msg);
      bodyResponses = 1;
      const common = b.msg.responseBody.response;
      downstream = applyHeaderMutation(downstream, common?.headerMutation, false);
      const bm = common?.bodyMutation;
      if (bm && Object.prototype.hasOwnProperty.call(bm, 'body') && bm.body !== undefined) out.push(Buffer.from(bm.body));
      else if (bm?.clearBody) out.push(Buffer.alloc(0));
      else out.push(whole);
      if (res.trailers !== undefined) {
        this.send({ responseTrailers: { trailers: this.headerMap(headerEntries(res.trailers)) } });
        const t = await this.next(this.opts.messageTimeoutMs);
        if (t.kind !== 'message' || !t.msg.responseTrailers) throw new EnvoyProtocolError('expected response trailers response');
        responses.push(t.msg);
      }
    }
    return { kind: 'downstream', headers: downstream, body: Buffer.concat(out), bodyResponses, responses };
  }

  /** Ends the stream the way the client is configured to (reset by default); idempotent. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.opts.endStream === 'half-close') this.call.end();
    else this.call.cancel();
  }

  /** Waits for the server's final status (half-close mode), bounded. */
  async status(timeoutMs = this.opts.waitLimitMs): Promise<{ code: number; details: string }> {
    for (;;) {
      const m = await this.next(timeoutMs);
      if (m.kind === 'end') return { code: m.code, details: m.details };
      this.inbox.shift();
    }
  }

  /** The request headers as sent (for assertions). */
  get sentHeaders(): HeaderList {
    return this.requestHeaders;
  }
}

/** Splits `body` at the given offsets (ignoring out-of-range ones). */
export function splitBody(body: Buffer, offsets: number[]): Buffer[] {
  const cuts = [...new Set(offsets.filter((o) => o > 0 && o < body.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const c of cuts) {
    out.push(body.subarray(start, c));
    start = c;
  }
  out.push(body.subarray(start));
  return out;
}

/** A gRPC connection that opens one Envoy-like exchange per HTTP request. */
export class EnvoyExtProcClient {
  readonly client: Client;
  private readonly opts: Required<Omit<EnvoyClientOptions, 'credentials' | 'address' | 'channelOptions'>>;

  constructor(options: EnvoyClientOptions) {
    this.client = new Client(options.address, options.credentials ?? grpcCredentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      ...options.channelOptions,
    });
    this.opts = {
      bodyMode: options.bodyMode ?? BodySendMode.FULL_DUPLEX_STREAMED,
      sendProtocolConfig: options.sendProtocolConfig ?? true,
      legacyHeaderValue: options.legacyHeaderValue ?? false,
      receivingNamespaces: options.receivingNamespaces ?? ['envoy.lb'],
      endStream: options.endStream ?? 'reset',
      messageTimeoutMs: options.messageTimeoutMs ?? 200,
      waitLimitMs: options.waitLimitMs ?? 10_000,
    };
  }

  /** Opens a new Process stream. */
  open(overrides: Partial<EnvoyClientOptions> = {}): EnvoyExchange {
    return new EnvoyExchange(this.client, { ...this.opts, ...stripUndefined(overrides) } as typeof this.opts);
  }

  /** One whole request phase on a fresh stream, then ends the stream. */
  async request(req: HttpRequest, overrides: Partial<EnvoyClientOptions> = {}): Promise<RequestOutcome> {
    const ex = this.open(overrides);
    try {
      return await ex.sendRequest(req);
    } finally {
      ex.end();
    }
  }

  close(): void {
    this.client.close();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
