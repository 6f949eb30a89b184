/**
 * A Kubernetes API server stand-in that speaks the real list/watch wire protocol over HTTP on
 * loopback, and misbehaves on demand.
 *
 * - list: GET on a collection, `{kind: XList, metadata: {resourceVersion, continue}, items}`,
 *   with `labelSelector` (equality), `fieldSelector=metadata.name=...`, `limit`/`continue`;
 * - watch: the same GET with `watch=1`: a 200 chunked body of `{"type", "object"}` lines, replayed
 *   from `resourceVersion` out of an event history, then live; `allowWatchBookmarks` and
 *   `timeoutSeconds` honoured; label-selector watches see objects leave as DELETED;
 * - single objects: GET/POST/PUT/DELETE with optimistic concurrency (409 on a stale
 *   resourceVersion, 409 AlreadyExists on create), as leases need;
 * - misbehaviour: compaction (410 as an ERROR event or as an HTTP status), dropped connections,
 *   garbage lines, one-byte chunks, stalled streams, injected error statuses, expired continue
 *   tokens, unserved collections (404) and forbidden ones (403);
 * - TokenReview and SubjectAccessReview (non-resource URLs) answered from `tokenUsers` and
 *   `allowedNonResource`, or not at all (`hangReviews`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';

const TOKEN_REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';
const ACCESS_REVIEWS = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

interface HistoryEntry {
  rv: number;
  collection: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
  previous: Obj | null;
}

interface Watcher {
  collection: string;
  res: ServerResponse;
  labels: Record<string, string> | null;
  name: string | null;
  bookmarks: boolean;
  timer: NodeJS.Timeout | null;
}

/** One recorded request. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  body: unknown;
  /** performance.now() when it arrived. */
  at: number;
  /** Common name of the TLS client certificate, if one was presented. */
  clientCertCN: string | null;
}

export class FakeApiServer {
  port = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly collections = new Map<string, { kind: string; apiVersion: string; items: Map<string, Obj> }>();
  private readonly history: HistoryEntry[] = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 100;
  /** Requests seen, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Watches from a resourceVersion below this get 410. */
  compactedBelow = 0;
  /** How 410 is delivered to a watch: an ERROR event in a 200 stream (as the real server does) or an HTTP status. */
  goneAs: 'event' | 'status' = 'event';
  /** Collections answered 403. */
  readonly forbidden = new Set<string>();
  /** Answer the next requests matching `match` with `status`. */
  readonly failures: Array<{ match: (r: RecordedRequest) => boolean; status: number; times: number }> = [];
  /** Write watch events one byte per chunk. */
  byteChunks = false;
  /** Hold watch output (a stalled stream). */
  stalled = false;
  /** Continue tokens are rejected with 410 while set. */
  expireContinue = false;
  /** When set, requests need `Authorization: <value>` (else 401). */
  requireAuthorization: string | null = null;
  /** Watches end as soon as they have replayed history. */
  closeWatchesImmediately = false;
  /** TokenReview: the user each valid token authenticates as (other tokens are unauthenticated). */
  readonly tokenUsers = new Map<string, { username: string; uid?: string; groups?: string[] }>();
  /** SubjectAccessReview: `user verb path` triples allowed on non-resource URLs. */
  readonly allowedNonResource = new Set<string>();
  /** TokenReviews and SubjectAccessReviews get no answer while set (a hung API server). */
  hangReviews = false;

  private scheme = 'http';

  /** Starts listening on 127.0.0.1; with `tls`, over HTTPS (optionally asking for a client certificate). */
  async start(tls?: { cert: string; key: string; clientCa?: string }): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    if (tls !== undefined) {
      this.scheme = 'https';
      this.server = createTlsServer(
        { cert: tls.cert, key: tls.key, ...(tls.clientCa !== undefined ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}) },
        handler,
      );
    } else this.server = createServer(handler);
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const w of this.watchers) if (w.timer !== null) clearTimeout(w.timer);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  /** Serves a collection path (others answer 404, like a CRD that is not installed). */
  serve(collection: string, kind: string, apiVersion: string): this {
    if (!this.collections.has(collection)) this.collections.set(collection, { kind, apiVersion, items: new Map() });
    return this;
  }

  /** Stops serving a collection (the CRD was deleted); its watches end. */
  unserve(collection: string): void {
    this.collections.delete(collection);
    for (const w of [...this.watchers]) if (w.collection === collection) this.endWatch(w);
  }

  /** Current resourceVersion. */
  get resourceVersion(): number {
    return this.rv;
  }

  /** Creates or replaces an object, emitting ADDED or MODIFIED. Returns the stored copy. */
  put(collection: string, obj: Record<string, unknown>): Obj {
    const c = this.collection(collection);
    const o = structuredClone(obj) as Obj;
    o.metadata ??= {};
    const name = String(o.metadata.name);
    const prev = c.items.get(name) ?? null;
    o.metadata.resourceVersion = String(++this.rv);
    o.metadata.creationTimestamp ??= prev?.metadata.creationTimestamp ?? new Date(Date.UTC(2026, 0, 1) + this.rv * 1000).toISOString();
    o.kind ??= c.kind.replace(/List$/, '');
    o.apiVersion ??= c.apiVersion;
    c.items.set(name, o);
    this.record({ rv: this.rv, collection, type: prev === null ? 'ADDED' : 'MODIFIED', object: o, previous: prev });
    return o;
  }

  /** Deletes an object, emitting DELETED. */
  remove(collection: string, name: string): void {
    const c = this.collection(collection);
    const prev = c.items.get(name);
    if (prev === undefined) return;
    c.items.delete(name);
    const o = structuredClone(prev);
    o.metadata.resourceVersion = String(++this.rv);
    this.record({ rv: this.rv, collection, type: 'DELETED', object: o, previous: prev });
  }

  /** The stored object, if any. */
  get(collection: string, name: string): Obj | undefined {
    return this.collections.get(collection)?.items.get(name);
  }

  /** Forgets history below the current resourceVersion: older resume points get 410. */
  compact(): void {
    this.compactedBelow = this.rv;
    this.history.splice(0);
  }

  /** Destroys every open watch connection mid-stream. */
  dropWatches(): void {
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      if (w.timer !== null) clearTimeout(w.timer);
      w.res.socket?.destroy();
    }
  }

  /** Ends every watch cleanly (as at the server's timeout). */
  endWatches(): void {
    for (const w of [...this.watchers]) this.endWatch(w);
  }

  /** Writes raw text to every watch on `collection`. */
  sendRaw(collection: string, text: string): void {
    for (const w of this.watchers) if (w.collection === collection) this.write(w, text);
  }

  /** Sends a BOOKMARK at the current resourceVersion to watches that asked for bookmarks. */
  bookmark(collection: string): void {
    const c = this.collection(collection);
    for (const w of this.watchers)
      if (w.collection === collection && w.bookmarks)
        this.write(w, JSON.stringify({ type: 'BOOKMARK', object: { kind: c.kind.replace(/List$/, ''), apiVersion: c.apiVersion, metadata: { resourceVersion: String(this.rv) } } }) + '\n');
  }

  /** Bumps the resourceVersion without an event on `collection` (other collections changed). */
  tick(): void {
    this.rv++;
  }

  /** Open watches on `collection`. */
  watchCount(collection?: string): number {
    let n = 0;
    for (const w of this.watchers) if (collection === undefined || w.collection === collection) n++;
    return n;
  }

  /** Watch requests made on `collection`, in order. */
  watchRequests(collection: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === collection && isWatch(r.query));
  }

  /** List requests made on `collection`, in order. */
  listRequests(collection: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && r.path === collection && !isWatch(r.query));
  }

  private collection(path: string) {
    const c = this.collections.get(path);
    if (c === undefined) throw new Error(`fake apiserver: ${path} is not served`);
    return c;
  }

  private record(e: HistoryEntry): void {
    this.history.push(e);
    for (const w of this.watchers) if (w.collection === e.collection) this.deliver(w, e);
  }

  private deliver(w: Watcher, e: HistoryEntry): void {
    const now = matches(e.type === 'DELETED' ? e.previous ?? e.object : e.object, w);
    const before = e.previous !== null && matches(e.previous, w);
    let type: string | null = null;
    if (e.type === 'DELETED') type = before ? 'DELETED' : null;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    if (type !== null) this.write(w, JSON.stringify({ type, object: e.object }) + '\n');
  }

  private write(w: Watcher, text: string): void {
    if (this.stalled) return;
    if (!this.byteChunks) {
      w.res.write(text);
      return;
    }
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i++) w.res.write(bytes.subarray(i, i + 1));
  }

  private endWatch(w: Watcher): void {
    this.watchers.delete(w);
    if (w.timer !== null) clearTimeout(w.timer);
    w.res.end();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      let body: unknown = null;
      if (chunks.length > 0) {
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = null;
        }
      }
      const peer = (req.socket as { getPeerCertificate?: () => { subject?: { CN?: string } } }).getPeerCertificate?.();
      const r: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        authorization: req.headers.authorization,
        body,
        at: performance.now(),
        clientCertCN: peer?.subject?.CN ?? null,
      };
      this.requests.push(r);
      this.route(r, res);
    });
  }

  private route(r: RecordedRequest, res: ServerResponse): void {
    if (this.requireAuthorization !== null && r.authorization !== this.requireAuthorization) return status(res, 401, 'Unauthorized', 'bad token');
    const f = this.failures.find((x) => x.times > 0 && x.match(r));
    if (f !== undefined) {
      f.times--;
      return status(res, f.status, f.status === 429 ? 'TooManyRequests' : 'InternalError', 'injected failure');
    }
    if (r.method === 'POST' && (r.path === TOKEN_REVIEWS || r.path === ACCESS_REVIEWS)) return this.review(r, res);
    const collectionPath = this.collections.has(r.path) ? r.path : null;
    const parentPath = r.path.slice(0, r.path.lastIndexOf('/'));
    const itemName = r.path.slice(r.path.lastIndexOf('/') + 1);
    const forbiddenPath = collectionPath ?? parentPath;
    if (this.forbidden.has(forbiddenPath)) return status(res, 403, 'Forbidden', `cannot access ${forbiddenPath}`);
    if (collectionPath !== null) {
      if (r.method === 'GET') return isWatch(r.query) ? this.watch(collectionPath, r, res) : this.list(collectionPath, r, res);
      if (r.method === 'POST') return this.create(collectionPath, r, res);
      return status(res, 405, 'MethodNotAllowed', r.method);
    }
    if (this.collections.has(parentPath)) {
      const obj = this.get(parentPath, itemName);
      if (r.method === 'GET') return obj === undefined ? status(res, 404, 'NotFound', `${itemName} not found`) : json(res, 200, obj);
      if (r.method === 'PUT') return this.update(parentPath, itemName, r, res);
      if (r.method === 'DELETE') {
        if (obj === undefined) return status(res, 404, 'NotFound', `${itemName} not found`);
        this.remove(parentPath, itemName);
        return json(res, 200, obj);
      }
    }
    status(res, 404, 'NotFound', `the server could not find the requested resource (${r.path})`);
  }

  /** Review requests made (TokenReview and SubjectAccessReview), in order. */
  reviewRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === TOKEN_REVIEWS || r.path === ACCESS_REVIEWS);
  }

  /** TokenReview and SubjectAccessReview, answered 201 as the real server does for a create. */
  private review(r: RecordedRequest, res: ServerResponse): void {
    if (this.hangReviews) return;
    if (this.forbidden.has(r.path)) return status(res, 403, 'Forbidden', `cannot create ${r.path}`);
    const b = (r.body ?? {}) as { apiVersion?: string; kind?: string; spec?: Record<string, unknown> };
    const spec = b.spec ?? {};
    if (r.path === TOKEN_REVIEWS) {
      if (b.kind !== 'TokenReview' || typeof spec.token !== 'string') return status(res, 400, 'BadRequest', 'not a TokenReview');
      const user = this.tokenUsers.get(spec.token);
      return json(res, 201, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec,
        status: user === undefined ? { authenticated: false, error: 'invalid bearer token' } : { authenticated: true, user: { groups: [], ...user } },
      });
    }
    const attrs = spec.nonResourceAttributes as { path?: string; verb?: string } | undefined;
    if (b.kind !== 'SubjectAccessReview' || typeof spec.user !== 'string' || attrs === undefined) return status(res, 400, 'BadRequest', 'not a non-resource SubjectAccessReview');
    const allowed = this.allowedNonResource.has(`${spec.user} ${attrs.verb} ${attrs.path}`);
    json(res, 201, {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec,
      status: allowed ? { allowed: true, reason: 'RBAC: allowed' } : { allowed: false },
    });
  }

  private list(path: string, r: RecordedRequest, res: ServerResponse): void {
    const c = this.collection(path);
    const w = selectorsOf(r.query);
    const all = [...c.items.values()].filter((o) => matches(o, { ...w }));
    let start = 0;
    const cont = r.query.get('continue');
    if (cont !== null && cont !== '') {
      if (this.expireContinue) return status(res, 410, 'Expired', 'The provided continue parameter is too old');
      start = Number(cont);
    }
    const limit = Number(r.query.get('limit') ?? '0');
    const end = limit > 0 ? Math.min(all.length, start + limit) : all.length;
    json(res, 200, {
      kind: c.kind,
      apiVersion: c.apiVersion,
      metadata: { resourceVersion: String(this.rv), ...(end < all.length ? { continue: String(end) } : {}) },
      items: all.slice(start, end),
    });
  }

  private watch(path: string, r: RecordedRequest, res: ServerResponse): void {
    const from = r.query.get('resourceVersion') ?? '';
    const rvNum = Number(from);
    const tooOld = from !== '' && from !== '0' && rvNum < this.compactedBelow;
    if (tooOld && this.goneAs === 'status') return status(res, 410, 'Expired', `too old resource version: ${from} (${this.compactedBelow})`);
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const sel = selectorsOf(r.query);
    const w: Watcher = { collection: path, res, ...sel, bookmarks: r.query.get('allowWatchBookmarks') === 'true', timer: null };
    if (tooOld) {
      this.write(w, JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${from} (${this.compactedBelow})`, reason: 'Expired', code: 410 } }) + '\n');
      res.end();
      return;
    }
    if (from === '' || from === '0') {
      for (const o of this.collection(path).items.values()) if (matches(o, w)) this.write(w, JSON.stringify({ type: 'ADDED', object: o }) + '\n');
    } else {
      for (const e of this.history) if (e.collection === path && e.rv > rvNum) this.deliver(w, e);
    }
    if (this.closeWatchesImmediately) {
      res.end();
      return;
    }
    this.watchers.add(w);
    const timeout = Number(r.query.get('timeoutSeconds') ?? '0');
    if (timeout > 0) w.timer = setTimeout(() => this.endWatch(w), timeout * 1000);
    res.on('close', () => {
      this.watchers.delete(w);
      if (w.timer !== null) clearTimeout(w.timer);
    });
  }

  private create(path: string, r: RecordedRequest, res: ServerResponse): void {
    const o = r.body as Obj | null;
    const name = o?.metadata?.name;
    if (o === null || typeof name !== 'string') return status(res, 422, 'Invalid', 'metadata.name required');
    if (this.get(path, name) !== undefined) return status(res, 409, 'AlreadyExists', `${name} already exists`);
    json(res, 201, this.put(path, o));
  }

  private update(path: string, name: string, r: RecordedRequest, res: ServerResponse): void {
    const o = r.body as Obj | null;
    const cur = this.get(path, name);
    if (cur === undefined) return status(res, 404, 'NotFound', `${name} not found`);
    if (o === null || typeof o.metadata !== 'object') return status(res, 422, 'Invalid', 'body must be an object');
    if (o.metadata.resourceVersion !== cur.metadata.resourceVersion)
      return status(res, 409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again');
    json(res, 200, this.put(path, { ...o, metadata: { ...o.metadata, name } }));
  }
}

function isWatch(q: URLSearchParams): boolean {
  const w = q.get('watch');
  return w === '1' || w === 'true';
}

function selectorsOf(q: URLSearchParams): { labels: Record<string, string> | null; name: string | null } {
  let labels: Record<string, string> | null = null;
  const ls = q.get('labelSelector');
  if (ls !== null && ls !== '') {
    labels = {};
    for (const part of ls.split(',')) {
      const [k, v] = part.split(/==?/);
      labels[k] = v ?? '';
    }
  }
  let name: string | null = null;
  const fs = q.get('fieldSelector');
  if (fs !== null && fs.startsWith('metadata.name=')) name = fs.slice('metadata.name='.length);
  return { labels, name };
}

function matches(o: Obj, w: { labels: Record<string, string> | null; name: string | null }): boolean {
  if (w.name !== null && o.metadata.name !== w.name) return false;
  if (w.labels === null) return true;
  const have = (o.metadata.labels ?? {}) as Record<string, string>;
  return Object.entries(w.labels).every(([k, v]) => have[k] === v);
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** A pod object as the API server returns it. */
export function podObject(
  name: string,
  opts: { ip?: string | null; ready?: boolean; labels?: Record<string, string>; annotations?: Record<string, string>; deleting?: boolean } = {},
): Record<string, unknown> {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: opts.labels ?? { app: 'vllm' },
      ...(opts.annotations !== undefined ? { annotations: opts.annotations } : {}),
      ...(opts.deleting === true ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai', ports: [{ containerPort: 8000 }] }] },
    status: {
      phase: 'Running',
      ...(opts.ip !== null ? { podIP: opts.ip ?? '10.0.0.1' } : {}),
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: opts.ready === false ? 'False' : 'True' },
      ],
      containerStatuses: [{ name: 'vllm', ready: opts.ready !== false, restartCount: 0 }],
    },
  };
}
