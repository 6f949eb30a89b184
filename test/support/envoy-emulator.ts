/**
 * A small Envoy: for each HTTP request it runs the ext_proc request phase with the Envoy-faithful
 * client, sends the request to the endpoint the picker chose (ORIGINAL_DST: the routing header,
 * headers and body as mutated) over real HTTP, and runs the response phase with what the pod
 * answered (status, content type, body chunks, the served endpoint in metadata). Tests and the
 * soak benchmark use it to drive the ext_proc front door end to end.
 *
 * Simplifications: the pod's body is collected before the response phase runs (chunk boundaries
 * are kept, and with `keepChunkTiming` the gaps between them too); a pod that fails before answering becomes Envoy's 503 local reply, which Envoy also
 * passes through the ext_proc response phase; a body that breaks off resets the ext_proc stream.
 */
import { Agent, request as undiciRequest } from 'undici';
import type { EnvoyExtProcClient, HeaderList, HttpRequest } from './envoy-client.js';

/** What the downstream client would get. */
export interface EmulatedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Where the answer came from: the picker's local reply, the pod, or Envoy itself. */
  source: 'local-reply' | 'upstream' | 'envoy';
  /** The endpoint the request went to, or null. */
  endpoint: string | null;
  /** The pod's body broke off mid-stream (the downstream connection is reset). */
  broken: boolean;
}

export interface EnvoyEmulatorOptions {
  /** Upstream connect timeout (Envoy cluster connect_timeout), ms. */
  connectTimeoutMs?: number;
  /** Upstream response timeout (route timeout), ms. */
  upstreamTimeoutMs?: number;
  /** Replay the pod's gaps between body chunks in the response phase (latency observation tests). */
  keepChunkTiming?: boolean;
}

/** Request headers Envoy does not forward as ordinary headers. */
const HOP = new Set([':authority', ':path', ':method', ':scheme', 'host', 'content-length', 'connection', 'transfer-encoding']);

export class EnvoyEmulator {
  private readonly agent: Agent;
  private readonly keepTiming: boolean;

  constructor(
    private readonly extproc: EnvoyExtProcClient,
    opts: EnvoyEmulatorOptions = {},
  ) {
    this.keepTiming = opts.keepChunkTiming === true;
    const timeout = opts.upstreamTimeoutMs ?? 30_000;
    this.agent = new Agent({ connect: { timeout: opts.connectTimeoutMs ?? 2000 }, headersTimeout: timeout, bodyTimeout: timeout });
  }

  /** Runs one HTTP exchange through ext_proc and the picked pod. */
  async send(req: HttpRequest): Promise<EmulatedResponse> {
    const ex = this.extproc.open();
    try {
      const out = await ex.sendRequest(req);
      if (out.kind === 'local-reply') {
        return { status: out.status, headers: {}, body: Buffer.from(out.body), source: 'local-reply', endpoint: null, broken: false };
      }
      const dst = out.originalDst;
      if (dst === null) return this.envoyReply(503, 'no healthy upstream', null);
      const upstream = await this.forward(dst, req.path ?? '/v1/completions', out.headers, out.body);
      if (upstream.kind === 'failed') {
        // Envoy's local reply also runs through the ext_proc response phase.
        await ex.sendResponse({ status: 503, headers: { 'content-type': 'text/plain' }, chunks: [upstream.message] }).catch(() => null);
        return this.envoyReply(503, upstream.message, dst);
      }
      if (upstream.broken) {
        // Envoy resets the downstream stream and the ext_proc stream with it (finally: ex.end()).
        return { status: upstream.status, headers: upstream.headers, body: Buffer.concat(upstream.chunks), source: 'upstream', endpoint: dst, broken: true };
      }
      const contentType = upstream.headers['content-type'];
      const res = await ex.sendResponse({
        status: upstream.status,
        headers: contentType !== undefined ? { 'content-type': contentType } : {},
        chunks: upstream.chunks,
        chunkGapsMs: this.keepTiming ? upstream.gaps : undefined,
        served: dst,
      });
      if (res.kind === 'local-reply') {
        return { status: res.status, headers: {}, body: Buffer.from(res.body), source: 'local-reply', endpoint: dst, broken: false };
      }
      return { status: upstream.status, headers: upstream.headers, body: res.body, source: 'upstream', endpoint: dst, broken: false };
    } finally {
      ex.end();
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private envoyReply(status: number, message: string, endpoint: string | null): EmulatedResponse {
    return { status, headers: { 'content-type': 'text/plain' }, body: Buffer.from(message), source: 'envoy', endpoint, broken: false };
  }

  private async forward(
    dst: string,
    path: string,
    headers: HeaderList,
    body: Buffer,
  ): Promise<
    | { kind: 'answered'; status: number; headers: Record<string, string>; chunks: Buffer[]; gaps: number[]; broken: boolean }
    | { kind: 'failed'; message: string }
  > {
    const sent: Record<string, string> = {};
    for (const [k, v] of headers) if (!HOP.has(k)) sent[k] = v;
    let res;
    try {
      res = await undiciRequest(`http://${dst}${path}`, { method: 'POST', headers: sent, body, dispatcher: this.agent });
    } catch (err) {
      return { kind: 'failed', message: `upstream connect error or disconnect/reset before headers: ${(err as Error).message}` };
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out[k] = v;
    const chunks: Buffer[] = [];
    const gaps: number[] = [];
    let last = performance.now();
    let broken = false;
    try {
      for await (const c of res.body) {
        const now = performance.now();
        gaps.push(now - last);
        last = now;
        chunks.push(c as Buffer);
      }
    } catch {
      broken = true;
    }
    return { kind: 'answered', status: res.statusCode, headers: out, chunks, gaps, broken };
  }
}
