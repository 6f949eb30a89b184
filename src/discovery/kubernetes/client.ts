/**
 * A small Kubernetes API client over undici: JSON requests and watch streams.
 *
 * Why not `@kubernetes/client-node`: v2 needs undici 8 (Node 22+). v1.4 runs on Node 20, but its
 * `ListWatch` stops on the first error that is not a 410 (no re-watch, no backoff), never asks
 * for bookmarks, has no idle detection (its 30 s timeout signal is overwritten before use) and
 * drops unparsable lines silently; we would write the watch loop ourselves anyway. It also adds
 * 68 packages / 72 MB to the runtime image (node-fetch 2, openid-client, tar-fs, @types/node 24
 * as a runtime dependency). What it would still give us, kubeconfig auth, is in connection.ts.
 *
 * Wire protocol: list = GET on a collection, JSON `{metadata: {resourceVersion, continue}, items}`;
 * watch = the same GET with `watch=1`, answered 200 with a chunked body of JSON watch events
 * `{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": {...}}`, one per line. Non-2xx
 * answers carry a `Status` object; they are returned as values, not thrown.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { sbError } from '../../errors.js';
import type { KubeConnection } from './connection.js';

/** A non-streaming answer. */
export interface ApiResponse {
  status: number;
  /** Parsed JSON body, or null when it was empty or not JSON. */
  body: unknown;
}

/** What a watch stream yields: a decoded event, or a line that is not one. */
export type WatchItem = { kind: 'event'; type: string; object: Record<string, unknown> } | { kind: 'malformed'; line: string };

/** An open watch: either a 200 stream of items, or an error status. */
export type WatchResponse = { status: 200; items: AsyncIterable<WatchItem>; body?: undefined } | { status: number; items?: undefined; body: unknown };

/** Limits of the client. */
export interface KubeClientOptions {
  /** Deadline of non-watch requests, ms (default 30 s). */
  requestTimeoutMs?: number;
  /** Largest accepted watch line or response body, bytes (default 64 MiB). */
  maxBytes?: number;
}

export class KubeClient {
  private readonly agent: Agent;
  private readonly requestTimeoutMs: number;
  private readonly maxBytes: number;

  constructor(
    readonly conn: KubeConnection,
    opts: KubeClientOptions = {},
  ) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.agent = new Agent({
      connect: {
        ...(conn.ca !== null ? { ca: conn.ca } : {}),
        ...(conn.cert !== null && conn.key !== null ? { cert: conn.cert, key: conn.key } : {}),
        ...(conn.tlsServerName !== null ? { servername: conn.tlsServerName } : {}),
        rejectUnauthorized: !conn.insecureSkipTlsVerify,
        // Keepalive probes notice a silently dead API server connection under a long watch.
        keepAlive: true,
        keepAliveInitialDelay: 30_000,
      },
      // Watches are long-lived: one connection each, plus a few for lists and leases.
      connections: 16,
    });
  }

  /**
   * Sends a JSON request. Network failures throw SB_ERR_KUBE_API; HTTP errors are returned.
   * `timeoutMs` overrides the client's deadline for this call (the whole exchange).
   */
  async send(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    query?: Record<string, string>,
    body?: unknown,
    opts: { timeoutMs?: number } = {},
  ): Promise<ApiResponse> {
    const ms = opts.timeoutMs ?? this.requestTimeoutMs;
    const res = await this.dispatch(method, path, query, body, {
      bodyTimeout: ms,
      headersTimeout: ms,
      ...(opts.timeoutMs !== undefined ? { signal: AbortSignal.timeout(ms) } : {}),
    });
    const text = await this.readBody(res.body, method, path);
    let parsed: unknown = null;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    return { status: res.statusCode, body: parsed };
  }

  /**
   * Opens a watch. `idleTimeoutMs` bounds the silence between two chunks: a stalled stream then
   * ends with an error so the caller re-watches. `signal` closes the stream.
   */
  async watch(path: string, query: Record<string, string>, opts: { signal: AbortSignal; idleTimeoutMs: number }): Promise<WatchResponse> {
    const res = await this.dispatch('GET', path, { ...query, watch: '1' }, undefined, {
      bodyTimeout: opts.idleTimeoutMs,
      headersTimeout: this.requestTimeoutMs,
      signal: opts.signal,
    });
    if (res.statusCode !== 200) {
      const text = await this.readBody(res.body, 'WATCH', path).catch(() => '');
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
      return { status: res.statusCode, body };
    }
    return { status: 200, items: splitEvents(res.body, this.maxBytes) };
  }

  /** Closes pooled connections (and any open watch). */
  async close(): Promise<void> {
    await this.agent.destroy();
  }

  private async dispatch(
    method: string,
    path: string,
    query: Record<string, string> | undefined,
    body: unknown,
    extra: { bodyTimeout: number; headersTimeout: number; signal?: AbortSignal },
  ): Promise<Dispatcher.ResponseData> {
    const url = new URL(this.conn.server + path);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept: 'application/json' };
      const auth = await this.conn.authorization();
      if (auth !== null) headers.authorization = auth;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          dispatcher: this.agent,
          method: method as Dispatcher.HttpMethod,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          ...extra,
        });
      } catch (err) {
        const e = sbError('SB_ERR_KUBE_API', method, path, (err as Error).message);
        (e as { cause?: unknown }).cause = err;
        throw e;
      }
      // A rotated or expired token: drop the cached credential and try once more.
      if (res.statusCode === 401 && attempt === 0) {
        await res.body.dump();
        this.conn.invalidate();
        continue;
      }
      return res;
    }
  }

  private async readBody(body: Dispatcher.ResponseData['body'], method: string, path: string): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of body) {
        size += (c as Buffer).length;
        if (size > this.maxBytes) {
          body.destroy();
          throw sbError('SB_ERR_KUBE_API', method, path, `response larger than ${this.maxBytes} bytes`);
        }
        chunks.push(c as Buffer);
      }
    } catch (err) {
      if ((err as { code?: string }).code === 'SB_ERR_KUBE_API') throw err;
      throw sbError('SB_ERR_KUBE_API', method, path, (err as Error).message);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

/**
 * Splits a watch body into events at newlines, whatever the chunking: an event may arrive in
 * many chunks, a chunk may hold many events. A line that is not a watch event is yielded as
 * `malformed` (the caller decides); a line over `maxBytes` ends the stream with an error.
 */
export async function* splitEvents(body: AsyncIterable<Buffer | string>, maxBytes: number): AsyncGenerator<WatchItem> {
  let pending: Buffer[] = [];
  let pendingLen = 0;
  for await (const raw of body) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let nl = chunk.indexOf(10);
    while (nl !== -1) {
      const part = chunk.subarray(0, nl);
      const line = pendingLen === 0 ? part : Buffer.concat([...pending, part]);
      pending = [];
      pendingLen = 0;
      const item = decodeLine(line);
      if (item !== null) yield item;
      chunk = chunk.subarray(nl + 1);
      nl = chunk.indexOf(10);
    }
    if (chunk.length > 0) {
      pending.push(chunk);
      pendingLen += chunk.length;
      if (pendingLen > maxBytes) throw sbError('SB_ERR_KUBE_API', 'WATCH', '', `watch event larger than ${maxBytes} bytes`);
    }
  }
  if (pendingLen > 0) {
    const item = decodeLine(Buffer.concat(pending));
    if (item !== null) yield item;
  }
}

function decodeLine(line: Buffer): WatchItem | null {
  const text = line.toString('utf8').trim();
  if (text === '') return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { kind: 'malformed', line: text.slice(0, 200) };
  }
  const o = v as { type?: unknown; object?: unknown } | null;
  if (o === null || typeof o !== 'object' || typeof o.type !== 'string' || typeof o.object !== 'object' || o.object === null)
    return { kind: 'malformed', line: text.slice(0, 200) };
  return { kind: 'event', type: o.type, object: o.object as Record<string, unknown> };
}
