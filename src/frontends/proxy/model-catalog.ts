/**
 * The fleet's `/v1/models`: the union of every pod's base models and LoRA adapters, in vLLM's
 * `ModelList` shape (adapters carry `parent`). Pods are asked off the hot path, on a timer and
 * when they join; requests read a body serialized once per change.
 */
import type { Endpoint } from '../../pool/endpoint.js';
import type { EndpointPool } from '../../pool/pool.js';
import type { UpstreamPools } from './upstream-pools.js';

/** One `ModelCard` as a pod reported it; fields beyond `id`/`parent` pass through untouched. */
export interface ModelCard {
  id: string;
  object: string;
  parent: string | null;
  [field: string]: unknown;
}

/** Largest `/v1/models` answer read from a pod. */
const MAX_LIST_BYTES = 1024 * 1024;
/** Timeout of one pod's `/v1/models` query. */
const QUERY_TIMEOUT_MS = 5_000;

export class ModelCatalog {
  /** Cards per pod key, from the latest successful query. */
  private readonly byEndpoint = new Map<string, ModelCard[]>();
  private cards: ModelCard[] = [];
  private bodyCache: Buffer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private readonly unsubscribe: () => void;
  /** Queries that failed or returned something unusable (tests, debug). */
  failures = 0;

  constructor(
    private readonly pool: EndpointPool,
    private readonly upstreams: UpstreamPools,
    private readonly refreshMs: number,
  ) {
    this.unsubscribe = pool.subscribe((e) => {
      if (e.type === 'removed') {
        if (this.byEndpoint.delete(e.endpoint.key)) this.rebuild();
      } else if (e.type === 'added') {
        void this.query(e.endpoint).then(() => this.rebuild());
      }
    });
  }

  /** Queries every pod now and then every `refreshMs`. */
  start(): Promise<void> {
    if (this.timer === null && this.refreshMs > 0) {
      this.timer = setInterval(() => void this.refresh(), this.refreshMs);
      this.timer.unref();
    }
    return this.refresh();
  }

  /** Stops refreshing. */
  stop(): void {
    this.unsubscribe();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Queries every pod (one refresh at a time) and rebuilds the union. */
  refresh(): Promise<void> {
    if (this.refreshing === null) {
      this.refreshing = Promise.all(this.pool.endpoints().map((ep) => this.query(ep))).then(() => {
        this.refreshing = null;
        this.rebuild();
      });
    }
    return this.refreshing;
  }

  /** The union, base models first, each group sorted by id. */
  models(): readonly ModelCard[] {
    return this.cards;
  }

  /** The `/v1/models` response body. */
  body(): Buffer {
    this.bodyCache ??= Buffer.from(JSON.stringify({ object: 'list', data: this.cards }));
    return this.bodyCache;
  }

  /** One card by id (`GET /v1/models/{id}`), or undefined. */
  card(id: string): ModelCard | undefined {
    return this.cards.find((c) => c.id === id);
  }

  private async query(ep: Endpoint): Promise<void> {
    try {
      const res = await this.upstreams.for(ep).request({
        method: 'GET',
        path: '/v1/models',
        headers: { accept: 'application/json' },
        headersTimeout: QUERY_TIMEOUT_MS,
        bodyTimeout: QUERY_TIMEOUT_MS,
      });
      const text = await readLimited(res.body, MAX_LIST_BYTES);
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      const cards = parseModelList(text);
      // The pod may have left while we waited; its cards must not come back.
      if (this.pool.get(ep.key) === ep) this.byEndpoint.set(ep.key, cards);
    } catch {
      // Keep the pod's previous cards: one slow answer should not hide its models.
      this.failures++;
    }
  }

  private rebuild(): void {
    const seen = new Map<string, ModelCard>();
    for (const ep of this.pool.endpoints()) {
      for (const card of this.byEndpoint.get(ep.key) ?? []) if (!seen.has(card.id)) seen.set(card.id, card);
    }
    const all = [...seen.values()];
    const byId = (a: ModelCard, b: ModelCard) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    this.cards = [...all.filter((c) => c.parent === null).sort(byId), ...all.filter((c) => c.parent !== null).sort(byId)];
    this.bodyCache = null;
  }
}

/** Reads a body up to `limit` bytes; throws (and discards the rest) beyond it. */
async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new Error(`model list larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Validates a pod's `ModelList`; cards without a string `id` are dropped. */
export function parseModelList(text: string): ModelCard[] {
  const doc = JSON.parse(text) as unknown;
  const data = (doc as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new Error('model list has no data array');
  const cards: ModelCard[] = [];
  for (const item of data) {
    if (typeof item !== 'object' || item === null) continue;
    const c = item as Record<string, unknown>;
    if (typeof c.id !== 'string' || c.id.length === 0) continue;
    const parent = typeof c.parent === 'string' && c.parent.length > 0 ? c.parent : null;
    cards.push({ ...c, id: c.id, object: 'model', parent });
  }
  return cards;
}
