/**
 * File discovery for VMs and local use: endpoints listed in a YAML or JSON file
 * (`--endpoints-file`), reloaded when it changes.
 *
 * The file is either a list of endpoints or a mapping with an `endpoints:` list; each entry is
 * `host:port` or `{address, port, name?, labels?, metricsPort?}` (the config file's syntax).
 *
 * Reloads go through `pool.setEndpoints`, which keeps the slot, metrics and in-flight counts of
 * every endpoint that stays, so requests in flight are not disturbed. A file that fails to read
 * or parse at startup is an error; later, the last good view stays, the failure is logged and
 * counted, and the next change is tried again. Changes are noticed by watching the folder (which
 * sees editors' atomic renames and Kubernetes ConfigMap symlink swaps) and, as a fallback for
 * file systems without change events, by polling the file's stat.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, unwatchFile, watch, watchFile, type FSWatcher, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseStaticEndpoint } from '../config/load.js';
import { isSwitchboardError, sbError } from '../errors.js';
import type { EndpointSpec } from '../pool/endpoint.js';
import type { EndpointPool } from '../pool/pool.js';
import type { Discovery, DiscoveryLogger } from './discovery.js';

export interface FileDiscoveryOptions {
  path: string;
  pool: EndpointPool;
  logger: DiscoveryLogger;
  /** `--model-server-metrics-port`: applied to entries without their own metricsPort. */
  metricsPortOverride?: number;
  /** Stat polling interval, ms (default 2000). */
  pollIntervalMs?: number;
  /** Quiet time after a change event before reloading, ms (default 100): editors write in steps. */
  debounceMs?: number;
  /** Called on every reload attempt (`ok`, `unchanged`, `invalid`). */
  onReload?(outcome: 'ok' | 'unchanged' | 'invalid', detail: string): void;
}

/** Parses endpoints-file text; throws SB_ERR_CONFIG naming the entry at fault. */
export function parseEndpointsFile(text: string, source: string, metricsPortOverride = 0): EndpointSpec[] {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    throw sbError('SB_ERR_CONFIG', source, `not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  let list: unknown = doc;
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    const keys = Object.keys(doc);
    const unknown = keys.filter((k) => k !== 'endpoints');
    if (unknown.length > 0) throw sbError('SB_ERR_CONFIG', source, `unknown field "${unknown[0]}" (expected a list, or a mapping with endpoints:)`);
    list = (doc as { endpoints?: unknown }).endpoints ?? [];
  } else if (doc === null || doc === undefined) list = [];
  if (!Array.isArray(list)) throw sbError('SB_ERR_CONFIG', source, 'endpoints must be a list');
  const seen = new Set<string>();
  return list.map((raw, i) => {
    let spec: EndpointSpec;
    try {
      spec = parseStaticEndpoint(raw, `endpoints[${i}]`);
    } catch (err) {
      throw sbError('SB_ERR_CONFIG', source, isSwitchboardError(err) ? err.message.replace(/^invalid config: /, '') : String(err));
    }
    const key = `${spec.address}:${spec.port}`;
    if (seen.has(key)) throw sbError('SB_ERR_CONFIG', source, `endpoints[${i}]: duplicate endpoint ${key}`);
    seen.add(key);
    if (metricsPortOverride > 0) spec.metricsPort ??= metricsPortOverride;
    return spec;
  });
}

export class FileDiscovery implements Discovery {
  readonly kind = 'file';
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private digest = '';
  private closed = false;
  private readonly onStat = (cur: Stats, prev: Stats) => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) this.schedule();
  };

  constructor(private readonly opts: FileDiscoveryOptions) {}

  /** Loads the file (throwing if it is unusable) and starts watching it. */
  async start(): Promise<void> {
    const specs = this.read() ?? [];
    this.opts.pool.setEndpoints(specs);
    this.opts.pool.markSynced();
    this.opts.logger.info({ path: this.opts.path, endpoints: specs.length }, 'endpoints file loaded');
    const name = basename(this.opts.path);
    try {
      this.watcher = watch(dirname(this.opts.path), { persistent: false }, (_event, file) => {
        // Some platforms omit the name; then any change in the folder is a candidate.
        if (file === null || file === name || String(file).startsWith('..')) this.schedule();
      });
      this.watcher.on('error', (err) => this.opts.logger.warn({ path: this.opts.path, err: err.message }, 'folder watch failed; polling only'));
    } catch (err) {
      this.opts.logger.warn({ path: this.opts.path, err: (err as Error).message }, 'cannot watch the folder; polling only');
    }
    watchFile(this.opts.path, { persistent: false, interval: this.opts.pollIntervalMs ?? 2000 }, this.onStat);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    unwatchFile(this.opts.path, this.onStat);
    if (this.timer !== null) clearTimeout(this.timer);
  }

  /** Re-reads the file now; returns what happened. */
  reload(): 'ok' | 'unchanged' | 'invalid' {
    let specs: EndpointSpec[] | null;
    try {
      specs = this.read();
    } catch (err) {
      const detail = isSwitchboardError(err) ? err.message : String(err);
      this.opts.logger.warn({ path: this.opts.path, err: detail }, 'endpoints file invalid; keeping the previous endpoints');
      this.opts.onReload?.('invalid', detail);
      return 'invalid';
    }
    if (specs === null) {
      this.opts.onReload?.('unchanged', '');
      return 'unchanged';
    }
    const before = this.opts.pool.size;
    this.opts.pool.setEndpoints(specs);
    this.opts.logger.info({ path: this.opts.path, endpoints: specs.length, before }, 'endpoints file reloaded');
    this.opts.onReload?.('ok', '');
    return 'ok';
  }

  /** Reads and parses the file; null when its content has not changed since the last read. */
  private read(): EndpointSpec[] | null {
    let text: string;
    try {
      if (!statSync(this.opts.path).isFile()) throw new Error('not a regular file');
      text = readFileSync(this.opts.path, 'utf8');
    } catch (err) {
      throw sbError('SB_ERR_CONFIG', this.opts.path, (err as Error).message);
    }
    const digest = createHash('sha256').update(text).digest('hex');
    if (digest === this.digest) return null;
    const specs = parseEndpointsFile(text, this.opts.path, this.opts.metricsPortOverride ?? 0);
    this.digest = digest;
    return specs;
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closed) this.reload();
    }, this.opts.debounceMs ?? 100);
  }
}
