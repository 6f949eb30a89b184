/**
 * A reflector keeps a local copy of one Kubernetes collection current: list, then watch from
 * the list's resourceVersion, forever.
 *
 * What it survives, and how:
 * - resourceVersion continuity: every event and bookmark moves the resume point, so a
 *   re-watch neither misses nor replays events;
 * - 410 Gone (as an HTTP status or as an ERROR event): the resume point is too old; re-list;
 * - dropped connections, stalled streams (idle timeout), 5xx and 429: re-watch from the last
 *   resourceVersion after a jittered exponential backoff;
 * - the server ending the watch (its `timeoutSeconds`): re-watch at once;
 * - bookmarks: requested (`allowWatchBookmarks`), they only move the resume point;
 * - a resource type the server does not serve (404, a CRD not installed) or may not show us
 *   (403): reported once through `onUnavailable`, then re-listed every `unavailableRetryMs`;
 * - garbage on the stream: counted, and the watch restarts from the last good resourceVersion.
 *
 * Objects are parsed at the edge (`parse`) into the few fields the caller needs; objects that do
 * not parse are counted and skipped.
 */
import type { KubeClient } from './client.js';
import { Sleeper } from './sleeper.js';

/** What a reflector reports outside (logs and counters), injectable for tests. */
export interface ReflectorHooks {
  /** An event kind applied (`ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`) or an outcome (`list`, `relist`, `gone`, ...). */
  count?(resource: string, what: string): void;
  /** A bad object or line from the server. */
  malformed?(resource: string, detail: string): void;
  log?: ReflectorLogger;
}

/** The logger calls a reflector makes (pino's shape). */
export interface ReflectorLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Jittered exponential backoff settings, ms. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export interface ReflectorOptions<T> {
  client: KubeClient;
  /** Name for logs and metrics, e.g. `pods`. */
  resource: string;
  /** Collection path, e.g. `/api/v1/namespaces/default/pods`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Turns a raw object into what the store keeps; null marks it malformed. */
  parse(obj: Record<string, unknown>): T | null;
  /** Called after every full list and every applied event; read `store`. */
  onChange(reflector: Reflector<T>, reason: 'list' | 'event'): void;
  /** The collection is not served (404) or not allowed (403); called on each transition into that state. */
  onUnavailable?(reflector: Reflector<T>, status: number): void;
  hooks?: ReflectorHooks;
  backoff?: Partial<BackoffOptions>;
  /** Retry interval while the collection is unavailable (default 30 s). */
  unavailableRetryMs?: number;
  /** List page size (default 500). */
  pageSize?: number;
  /** Server-side watch timeout, seconds; default random in [300, 600) like client-go. */
  watchTimeoutSeconds?: () => number;
  /** Longest silence on a watch before it is treated as dead, ms (default: watch timeout + 30 s). */
  idleTimeoutMs?: number;
  rng?: () => number;
}

type Outcome = 'relist' | 'rewatch' | 'backoff' | 'unavailable' | 'stopped';

interface KubeStatus {
  code?: number;
  reason?: string;
  message?: string;
}

export class Reflector<T> {
  /** Current objects by `metadata.name`. */
  store = new Map<string, T>();
  /** Resume point: the resourceVersion of the last list, event or bookmark. */
  resourceVersion = '';
  /** True once the first full list has been applied. */
  synced = false;
  /** Set while the server answers 404/403 for the collection (its status), else null. */
  unavailable: number | null = null;

  private stopped = false;
  private running: Promise<void> | null = null;
  private abort: AbortController | null = null;
  private readonly sleeper = new Sleeper();
  private failures = 0;
  private readonly backoff: BackoffOptions;
  private readonly rng: () => number;
  private readonly hooks: ReflectorHooks;

  constructor(readonly opts: ReflectorOptions<T>) {
    this.backoff = { initialMs: 800, maxMs: 30_000, ...opts.backoff };
    this.rng = opts.rng ?? Math.random;
    this.hooks = opts.hooks ?? {};
  }

  get resource(): string {
    return this.opts.resource;
  }

  /** Starts the list/watch loop in the background. */
  start(): this {
    this.running ??= this.loop();
    return this;
  }

  /** Stops the loop and closes the watch; resolves when the loop has exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.sleeper.close();
    await this.running;
  }

  private async loop(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      let outcome: Outcome;
      try {
        outcome = needList ? await this.list() : await this.watchOnce();
      } catch (err) {
        if (this.stopped) break;
        this.hooks.log?.warn({ resource: this.resource, err: (err as Error).message }, 'kubernetes request failed; retrying');
        this.hooks.count?.(this.resource, 'error');
        outcome = 'backoff';
      }
      switch (outcome) {
        case 'relist':
          needList = true;
          break;
        case 'rewatch':
          needList = false;
          break;
        case 'backoff':
          // Keep the resume point: the next attempt repeats what failed.
          await this.sleeper.sleep(this.nextDelay());
          break;
        case 'unavailable':
          needList = true;
          await this.sleeper.sleep(this.opts.unavailableRetryMs ?? 30_000);
          break;
        case 'stopped':
          return;
      }
    }
  }

  /** Lists every page and replaces the store. */
  private async list(): Promise<Outcome> {
    const items = new Map<string, T>();
    let cont = '';
    let rv = '';
    let paged = true;
    for (;;) {
      const query: Record<string, string> = {};
      if (paged) query.limit = String(this.opts.pageSize ?? 500);
      if (cont !== '') query.continue = cont;
      this.selectors(query);
      const res = await this.opts.client.send('GET', this.opts.path, query);
      if (this.stopped) return 'stopped';
      if (res.status === 410 && cont !== '') {
        // The continue token expired mid-list (a slow consumer or a compaction): fall back to one
        // unpaginated list for a consistent snapshot, as client-go's pager does.
        this.hooks.count?.(this.resource, 'continue_expired');
        items.clear();
        cont = '';
        paged = false;
        continue;
      }
      if (res.status === 404 || res.status === 403) return this.markUnavailable(res.status, res.body);
      if (res.status !== 200) return this.failed('list', res.status, res.body);
      const body = res.body as { metadata?: { resourceVersion?: unknown; continue?: unknown }; items?: unknown } | null;
      if (body === null || typeof body !== 'object' || !Array.isArray(body.items)) {
        this.hooks.malformed?.(this.resource, 'list body without items');
        return this.failed('list', res.status, null);
      }
      for (const raw of body.items) this.addParsed(items, raw);
      rv = typeof body.metadata?.resourceVersion === 'string' ? body.metadata.resourceVersion : '';
      cont = typeof body.metadata?.continue === 'string' ? body.metadata.continue : '';
      if (cont === '') break;
    }
    this.store = items;
    this.resourceVersion = rv;
    this.failures = 0;
    const first = !this.synced;
    this.synced = true;
    if (this.unavailable !== null) this.hooks.log?.info({ resource: this.resource }, 'kubernetes resource is available again');
    this.unavailable = null;
    this.hooks.count?.(this.resource, first ? 'list' : 'relist');
    this.opts.onChange(this, 'list');
    return 'rewatch';
  }

  /** Runs one watch until it ends; says what to do next. */
  private async watchOnce(): Promise<Outcome> {
    const timeoutSeconds = this.opts.watchTimeoutSeconds?.() ?? Math.floor(300 + this.rng() * 300);
    const query: Record<string, string> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    };
    this.selectors(query);
    const abort = (this.abort = new AbortController());
    const started = Date.now();
    let delivered = 0;
    try {
      const res = await this.opts.client.watch(this.opts.path, query, {
        signal: abort.signal,
        idleTimeoutMs: this.opts.idleTimeoutMs ?? timeoutSeconds * 1000 + 30_000,
      });
      if (this.stopped) return 'stopped';
      if (res.status === 410) return this.gone('watch answered 410');
      if (res.status === 404 || res.status === 403) return this.markUnavailable(res.status, res.body);
      if (res.status !== 200) return this.failed('watch', res.status, res.body);
      if (res.items === undefined) return this.failed('watch', res.status, null);
      for await (const item of res.items) {
        if (this.stopped) return 'stopped';
        delivered++;
        if (item.kind === 'malformed') {
          // A garbled line may have been an event: resume from the last good point.
          this.hooks.malformed?.(this.resource, `watch line: ${item.line}`);
          abort.abort();
          return 'backoff';
        }
        const next = this.apply(item.type, item.object);
        if (next !== null) {
          abort.abort();
          return next;
        }
      }
    } catch (err) {
      if (this.stopped) return 'stopped';
      this.hooks.log?.debug({ resource: this.resource, err: (err as Error).message, delivered }, 'watch stream broke');
      this.hooks.count?.(this.resource, 'watch_dropped');
      if (delivered > 0) this.failures = 0;
      return 'backoff';
    } finally {
      if (this.abort === abort) this.abort = null;
    }
    // The server closed the stream: normal at its timeout. A stream that ends at once with
    // nothing in it is a misbehaving server, so back off instead of spinning.
    this.hooks.count?.(this.resource, 'watch_closed');
    if (delivered > 0 || Date.now() - started >= 1000) {
      this.failures = 0;
      return 'rewatch';
    }
    return 'backoff';
  }

  /** Applies one watch event; returns what to do instead of continuing, or null to go on. */
  private apply(type: string, obj: Record<string, unknown>): Outcome | null {
    if (type === 'ERROR') {
      const st = obj as KubeStatus;
      if (st.code === 410) return this.gone(`watch ERROR event: ${st.message ?? st.reason ?? 'Gone'}`);
      this.hooks.log?.warn({ resource: this.resource, code: st.code, reason: st.reason, message: st.message }, 'watch ERROR event; re-watching');
      this.hooks.count?.(this.resource, 'watch_error_event');
      return 'backoff';
    }
    const meta = obj.metadata as { name?: unknown; resourceVersion?: unknown } | undefined;
    const rv = typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : null;
    if (type === 'BOOKMARK') {
      if (rv !== null) this.resourceVersion = rv;
      this.hooks.count?.(this.resource, 'BOOKMARK');
      return null;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') {
      this.hooks.malformed?.(this.resource, `unknown watch event type "${type.slice(0, 40)}"`);
      return null;
    }
    if (rv !== null) this.resourceVersion = rv;
    const name = typeof meta?.name === 'string' ? meta.name : null;
    if (name === null) {
      this.hooks.malformed?.(this.resource, `${type} event without metadata.name`);
      return null;
    }
    if (type === 'DELETED') {
      if (!this.store.delete(name)) return null;
    } else {
      const parsed = this.opts.parse(obj);
      if (parsed === null) {
        this.hooks.malformed?.(this.resource, `${type} ${name}: object does not parse`);
        // Keep the store consistent with the server: an object we cannot read is not usable.
        if (!this.store.delete(name)) return null;
      } else this.store.set(name, parsed);
    }
    this.hooks.count?.(this.resource, type);
    this.opts.onChange(this, 'event');
    return null;
  }

  private addParsed(into: Map<string, T>, raw: unknown): void {
    const obj = raw as Record<string, unknown> | null;
    const name = (obj?.metadata as { name?: unknown } | undefined)?.name;
    const parsed = obj !== null && typeof obj === 'object' && typeof name === 'string' ? this.opts.parse(obj) : null;
    if (parsed === null) {
      this.hooks.malformed?.(this.resource, 'list item does not parse');
      return;
    }
    into.set(name as string, parsed);
  }

  private gone(detail: string): Outcome {
    this.hooks.log?.info({ resource: this.resource, resourceVersion: this.resourceVersion, detail }, 'resourceVersion expired; re-listing');
    this.hooks.count?.(this.resource, 'gone');
    return 'relist';
  }

  private markUnavailable(status: number, body: unknown): Outcome {
    if (this.unavailable !== status) {
      this.unavailable = status;
      this.opts.onUnavailable?.(this, status);
      const msg = (body as KubeStatus | null)?.message;
      this.hooks.log?.warn(
        { resource: this.resource, status, message: msg },
        status === 404
          ? 'kubernetes resource type not served (CRD not installed?); will retry'
          : 'not allowed to list/watch this resource (check RBAC); will retry',
      );
    }
    this.hooks.count?.(this.resource, status === 404 ? 'not_found' : 'forbidden');
    return 'unavailable';
  }

  private failed(what: string, status: number, body: unknown): Outcome {
    const st = body as KubeStatus | null;
    this.hooks.log?.warn({ resource: this.resource, status, reason: st?.reason, message: st?.message }, `${what} failed; retrying`);
    this.hooks.count?.(this.resource, `${what}_failed`);
    return 'backoff';
  }

  private selectors(query: Record<string, string>): void {
    if (this.opts.labelSelector !== undefined && this.opts.labelSelector !== '') query.labelSelector = this.opts.labelSelector;
    if (this.opts.fieldSelector !== undefined && this.opts.fieldSelector !== '') query.fieldSelector = this.opts.fieldSelector;
  }

  /** Jittered exponential backoff: uniform in [base/2, base], base doubling per failure. */
  private nextDelay(): number {
    const base = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return base / 2 + (this.rng() * base) / 2;
  }
}
