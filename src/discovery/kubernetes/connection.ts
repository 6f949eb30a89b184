/**
 * Where the Kubernetes API server is and how to authenticate to it, resolved the way
 * controller-runtime does for the Go EPP: `--kubeconfig`, then `$KUBECONFIG`, then the in-cluster
 * service account, then `~/.kube/config`.
 *
 * Supported credentials: bearer token (inline, `tokenFile`, the service-account token, re-read
 * so rotated tokens are picked up), client certificates, and `exec` credential plugins such as
 * `gke-gcloud-auth-plugin` (cached until their expiry). The legacy `auth-provider` plugins were
 * removed from kubectl in 1.26 and are rejected with a clear message.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { sbError } from '../../errors.js';

/** Paths of the in-cluster service account files. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Bound service-account tokens rotate; re-read the file at least this often (ms). */
const TOKEN_FILE_REFRESH_MS = 60_000;

/** A resolved API server connection. */
export interface KubeConnection {
  /** Base URL, e.g. `https://10.0.0.1:443`. */
  server: string;
  /** PEM CA bundle, or null for the system roots. */
  ca: string | null;
  /** PEM client certificate and key, or null. */
  cert: string | null;
  key: string | null;
  /** Skip server certificate verification (kubeconfig `insecure-skip-tls-verify`). */
  insecureSkipTlsVerify: boolean;
  /** TLS server name override (kubeconfig `tls-server-name`), or null. */
  tlsServerName: string | null;
  /** The `Authorization` header value, or null for none. Called before every request. */
  authorization(): Promise<string | null>;
  /** Drops cached credentials after a 401 so the next call fetches fresh ones. */
  invalidate(): void;
  /** Namespace from the service account or the kubeconfig context, or null. */
  namespace: string | null;
  /** Where the settings came from, for logs. */
  source: string;
}

/** Inputs of `resolveConnection` (injectable for tests). */
export interface ResolveOptions {
  /** `--kubeconfig`. */
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
  /** Service-account folder (tests point it at a temp dir). */
  serviceAccountDir?: string;
  /** Home folder for `~/.kube/config`. */
  home?: string;
}

/** Finds the API server and credentials; throws an Error saying what is missing. */
export function resolveConnection(opts: ResolveOptions = {}): KubeConnection {
  const env = opts.env ?? process.env;
  if (opts.kubeconfig !== undefined && opts.kubeconfig !== '') return fromKubeconfig([opts.kubeconfig], env);
  if (env.KUBECONFIG !== undefined && env.KUBECONFIG !== '') {
    const paths = env.KUBECONFIG.split(delimiter).filter((p) => p !== '');
    return fromKubeconfig(paths, env);
  }
  const sa = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '') return inCluster(env, sa);
  const home = join(opts.home ?? homedir(), '.kube', 'config');
  if (exists(home)) return fromKubeconfig([home], env);
  throw sbError('SB_ERR_KUBE_CONFIG', 'no Kubernetes configuration: not in a cluster (KUBERNETES_SERVICE_HOST unset), no --kubeconfig, $KUBECONFIG or ~/.kube/config');
}

/** The in-cluster service-account connection. */
export function inCluster(env: NodeJS.ProcessEnv, dir: string): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const tokenFile = join(dir, 'token');
  if (!exists(tokenFile)) throw sbError('SB_ERR_KUBE_CONFIG', `in-cluster config: ${tokenFile} is missing (is automountServiceAccountToken off?)`);
  const ns = readOptional(join(dir, 'namespace'));
  const token = fileToken(tokenFile);
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readOptional(join(dir, 'ca.crt')),
    cert: null,
    key: null,
    insecureSkipTlsVerify: false,
    tlsServerName: null,
    authorization: async () => `Bearer ${token.get()}`,
    invalidate: () => token.invalidate(),
    namespace: ns === null ? null : ns.trim(),
    source: 'in-cluster service account',
  };
}

interface Named<T> {
  name: string;
  value: T;
}

/** Builds a connection from kubeconfig files, merged in order (the first file to set a name wins). */
export function fromKubeconfig(paths: string[], env: NodeJS.ProcessEnv = process.env): KubeConnection {
  const clusters = new Map<string, { doc: Record<string, unknown>; dir: string }>();
  const users = new Map<string, { doc: Record<string, unknown>; dir: string }>();
  const contexts = new Map<string, Record<string, unknown>>();
  let current = '';
  let read = 0;
  for (const path of paths) {
    if (!exists(path)) continue;
    read++;
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(path, 'utf8'));
    } catch (err) {
      throw sbError('SB_ERR_KUBE_CONFIG', `kubeconfig ${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (typeof doc !== 'object' || doc === null) throw sbError('SB_ERR_KUBE_CONFIG', `kubeconfig ${path}: not a mapping`);
    const d = doc as Record<string, unknown>;
    const dir = dirname(path);
    for (const c of namedList(d.clusters, 'cluster', path)) if (!clusters.has(c.name)) clusters.set(c.name, { doc: c.value, dir });
    for (const u of namedList(d.users, 'user', path)) if (!users.has(u.name)) users.set(u.name, { doc: u.value, dir });
    for (const c of namedList(d.contexts, 'context', path)) if (!contexts.has(c.name)) contexts.set(c.name, c.value);
    if (current === '' && typeof d['current-context'] === 'string') current = d['current-context'];
  }
  if (read === 0) throw sbError('SB_ERR_KUBE_CONFIG', `kubeconfig: none of ${paths.join(', ')} exists`);
  if (current === '') throw sbError('SB_ERR_KUBE_CONFIG', 'kubeconfig: no current-context');
  const ctx = contexts.get(current);
  if (ctx === undefined) throw sbError('SB_ERR_KUBE_CONFIG', `kubeconfig: context "${current}" not found`);
  const cluster = clusters.get(str(ctx.cluster));
  if (cluster === undefined) throw sbError('SB_ERR_KUBE_CONFIG', `kubeconfig: cluster "${str(ctx.cluster)}" of context "${current}" not found`);
  const c = cluster.doc;
  const server = str(c.server);
  if (!/^https?:\/\//.test(server)) throw sbError('SB_ERR_KUBE_CONFIG', `kubeconfig: cluster "${str(ctx.cluster)}" has no http(s) server URL`);
  const user = users.get(str(ctx.user));
  const u = user?.doc ?? {};
  const udir = user?.dir ?? cluster.dir;

  const ca = pem(c['certificate-authority-data'], c['certificate-authority'], cluster.dir);
  const cert = pem(u['client-certificate-data'], u['client-certificate'], udir);
  const key = pem(u['client-key-data'], u['client-key'], udir);
  if ((cert === null) !== (key === null)) throw sbError('SB_ERR_KUBE_CONFIG', `kubeconfig: user "${str(ctx.user)}" needs both a client certificate and a key`);
  if (u['auth-provider'] !== undefined)
    throw sbError('SB_ERR_KUBE_CONFIG', `kubeconfig: user "${str(ctx.user)}" uses a legacy auth-provider; switch to an exec plugin (e.g. gke-gcloud-auth-plugin)`);

  let authorization: () => Promise<string | null> = async () => null;
  let invalidate = () => {};
  if (typeof u.token === 'string' && u.token !== '') {
    const t = u.token;
    authorization = async () => `Bearer ${t}`;
  } else if (typeof u.tokenFile === 'string' && u.tokenFile !== '') {
    const t = fileToken(resolvePath(u.tokenFile, udir));
    authorization = async () => `Bearer ${t.get()}`;
    invalidate = () => t.invalidate();
  } else if (typeof u.exec === 'object' && u.exec !== null) {
    const plugin = new ExecCredential(u.exec as Record<string, unknown>, env, server);
    authorization = async () => `Bearer ${await plugin.token()}`;
    invalidate = () => plugin.invalidate();
  } else if (typeof u.username === 'string' && typeof u.password === 'string') {
    const basic = Buffer.from(`${u.username}:${u.password}`).toString('base64');
    authorization = async () => `Basic ${basic}`;
  }
  const ns = typeof ctx.namespace === 'string' && ctx.namespace !== '' ? ctx.namespace : null;
  return {
    server: server.replace(/\/+$/, ''),
    ca,
    cert,
    key,
    insecureSkipTlsVerify: c['insecure-skip-tls-verify'] === true,
    tlsServerName: typeof c['tls-server-name'] === 'string' ? c['tls-server-name'] : null,
    authorization,
    invalidate,
    namespace: ns,
    source: `kubeconfig context "${current}"`,
  };
}

/**
 * A client-go `exec` credential plugin: runs the command, reads an ExecCredential from stdout,
 * and caches the token until shortly before `expirationTimestamp`.
 */
export class ExecCredential {
  private cached: { token: string; expiresAt: number } | null = null;
  private inflight: Promise<string> | null = null;

  constructor(
    private readonly spec: Record<string, unknown>,
    private readonly env: NodeJS.ProcessEnv,
    private readonly server: string,
  ) {
    if (typeof spec.command !== 'string' || spec.command === '') throw sbError('SB_ERR_KUBE_CONFIG', 'kubeconfig: exec plugin has no command');
  }

  /** A valid token, running the plugin when none is cached. */
  token(): Promise<string> {
    if (this.cached !== null && Date.now() < this.cached.expiresAt) return Promise.resolve(this.cached.token);
    this.inflight ??= this.run().finally(() => (this.inflight = null));
    return this.inflight;
  }

  invalidate(): void {
    this.cached = null;
  }

  private run(): Promise<string> {
    const apiVersion = typeof this.spec.apiVersion === 'string' ? this.spec.apiVersion : 'client.authentication.k8s.io/v1';
    const extra: Record<string, string> = {};
    for (const e of Array.isArray(this.spec.env) ? this.spec.env : []) {
      const o = e as Record<string, unknown>;
      if (typeof o.name === 'string' && typeof o.value === 'string') extra[o.name] = o.value;
    }
    const info = { apiVersion, kind: 'ExecCredential', spec: { interactive: false, cluster: { server: this.server } } };
    const args = Array.isArray(this.spec.args) ? this.spec.args.map(String) : [];
    return new Promise((resolve, reject) => {
      execFile(
        String(this.spec.command),
        args,
        { env: { ...this.env, ...extra, KUBERNETES_EXEC_INFO: JSON.stringify(info) }, timeout: 30_000, maxBuffer: 1 << 20 },
        (err, stdout, stderr) => {
          if (err !== null) {
            reject(sbError('SB_ERR_KUBE_CONFIG', `exec credential plugin ${String(this.spec.command)} failed: ${err.message} ${String(stderr).slice(0, 300)}`));
            return;
          }
          type Cred = { status?: { token?: unknown; expirationTimestamp?: unknown } } | null;
          let cred: Cred;
          try {
            cred = JSON.parse(String(stdout)) as Cred;
          } catch {
            cred = null;
          }
          const token = cred?.status?.token;
          if (typeof token !== 'string' || token === '') {
            reject(sbError('SB_ERR_KUBE_CONFIG', `exec credential plugin ${String(this.spec.command)}: no status.token in its output`));
            return;
          }
          const exp = typeof cred?.status?.expirationTimestamp === 'string' ? Date.parse(cred.status.expirationTimestamp) : NaN;
          // Refresh a little early; without an expiry, keep the token until a 401 invalidates it.
          this.cached = { token, expiresAt: Number.isFinite(exp) ? exp - 10_000 : Infinity };
          resolve(token);
        },
      );
    });
  }
}

/** A token read from a file, re-read when the file changes or at least every minute. */
function fileToken(path: string): { get(): string; invalidate(): void } {
  let value = '';
  let readAt = -Infinity;
  let mtime = -1;
  const load = () => {
    const m = statSync(path).mtimeMs;
    if (m !== mtime || Date.now() - readAt > TOKEN_FILE_REFRESH_MS) {
      value = readFileSync(path, 'utf8').trim();
      mtime = m;
      readAt = Date.now();
    }
    return value;
  };
  return {
    get: load,
    invalidate: () => {
      readAt = -Infinity;
    },
  };
}

function namedList(v: unknown, field: string, path: string): Array<Named<Record<string, unknown>>> {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw sbError('SB_ERR_KUBE_CONFIG', `kubeconfig ${path}: ${field}s must be a list`);
  return v.flatMap((e) => {
    const o = e as Record<string, unknown> | null;
    if (o === null || typeof o.name !== 'string') return [];
    const value = o[field];
    return [{ name: o.name, value: typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {} }];
  });
}

function pem(data: unknown, file: unknown, dir: string): string | null {
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8');
  if (typeof file === 'string' && file !== '') return readFileSync(resolvePath(file, dir), 'utf8');
  return null;
}

function resolvePath(p: string, dir: string): string {
  return isAbsolute(p) ? p : join(dir, p);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function readOptional(p: string): string | null {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}
