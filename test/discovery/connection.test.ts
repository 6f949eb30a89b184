/**
 * Finding the API server and authenticating: kubeconfig (token, token file, client
 * certificates, exec plugins, CA verification), the in-cluster service account, precedence.
 * TLS cases run against the fake API server over real HTTPS.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KubeClient } from '../../src/discovery/kubernetes/client.js';
import { fromKubeconfig, inCluster, resolveConnection } from '../../src/discovery/kubernetes/connection.js';
import { FakeApiServer } from '../support/fake-apiserver.js';

const TLS = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/tls');
const read = (f: string) => readFileSync(join(TLS, f), 'utf8');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const PODS = '/api/v1/namespaces/default/pods';

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sb-kube-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function kubeconfig(dir: string, server: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}, name = 'config'): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'test',
      contexts: [{ name: 'test', context: { cluster: 'c', user: 'u', namespace: 'inference' } }],
      clusters: [{ name: 'c', cluster: { server, ...cluster } }],
      users: [{ name: 'u', user }],
    }),
  );
  return path;
}

async function https(clientCa?: string): Promise<FakeApiServer> {
  const api = await new FakeApiServer().start({ cert: read('server.crt'), key: read('server.key'), clientCa });
  api.serve(PODS, 'PodList', 'v1');
  cleanup.push(() => api.close());
  return api;
}

async function get(conn: ReturnType<typeof fromKubeconfig>) {
  const client = new KubeClient(conn);
  cleanup.push(() => client.close());
  return client.send('GET', PODS);
}

describe('kubeconfig', () => {
  it('verifies the server against certificate-authority-data and sends the token', async () => {
    const api = await https();
    const dir = tempDir();
    const conn = fromKubeconfig([kubeconfig(dir, api.url, { token: 'abc' }, { 'certificate-authority-data': b64(read('server.crt')) })]);
    expect(conn.namespace).toBe('inference');
    expect((await get(conn)).status).toBe(200);
    expect(api.requests[0].authorization).toBe('Bearer abc');
  });

  it('rejects a server whose certificate the CA does not vouch for, unless told to skip verification', async () => {
    const api = await https();
    const dir = tempDir();
    const wrongCa = fromKubeconfig([kubeconfig(dir, api.url, { token: 'abc' }, { 'certificate-authority-data': b64(read('client.crt')) })]);
    await expect(get(wrongCa)).rejects.toMatchObject({ code: 'SB_ERR_KUBE_API' });
    const skip = fromKubeconfig([kubeconfig(dir, api.url, { token: 'abc' }, { 'insecure-skip-tls-verify': true }, 'skip')]);
    expect((await get(skip)).status).toBe(200);
  });

  it('presents client certificates from files relative to the kubeconfig', async () => {
    const api = await https(read('client.crt'));
    const dir = tempDir();
    writeFileSync(join(dir, 'ca.pem'), read('server.crt'));
    writeFileSync(join(dir, 'me.crt'), read('client.crt'));
    writeFileSync(join(dir, 'me.key'), read('client.key'));
    const conn = fromKubeconfig([kubeconfig(dir, api.url, { 'client-certificate': 'me.crt', 'client-key': 'me.key' }, { 'certificate-authority': 'ca.pem' })]);
    expect((await get(conn)).status).toBe(200);
    expect(api.requests[0].clientCertCN).toBe('switchboard-test-client');
    expect(api.requests[0].authorization).toBeUndefined();
  });

  it('re-reads a token file when it changes', async () => {
    const api = await new FakeApiServer().start();
    api.serve(PODS, 'PodList', 'v1');
    cleanup.push(() => api.close());
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), 'first\n');
    const conn = fromKubeconfig([kubeconfig(dir, api.url, { tokenFile: 'token' })]);
    await get(conn);
    writeFileSync(join(dir, 'token'), 'second\n');
    // mtime granularity can hide a quick rewrite; invalidate() (what a 401 does) forces a re-read.
    conn.invalidate();
    await get(conn);
    expect(api.requests.map((r) => r.authorization)).toEqual(['Bearer first', 'Bearer second']);
  });

  it('runs an exec credential plugin, passes it the cluster, and caches its token until expiry', async () => {
    const api = await new FakeApiServer().start();
    api.serve(PODS, 'PodList', 'v1');
    cleanup.push(() => api.close());
    const dir = tempDir();
    const script = join(dir, 'plugin.mjs');
    const counter = join(dir, 'runs');
    writeFileSync(
      script,
      `import { appendFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(counter)}, 'x');
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
process.stdout.write(JSON.stringify({ apiVersion: info.apiVersion, kind: 'ExecCredential',
  status: { token: 'exec-' + process.env.EXTRA + '-' + info.spec.cluster.server.startsWith('http'), expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() } }));
`,
    );
    chmodSync(script, 0o755);
    const conn = fromKubeconfig([
      kubeconfig(dir, api.url, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [script], env: [{ name: 'EXTRA', value: 'v' }] } }),
    ]);
    await get(conn);
    await get(conn);
    expect(api.requests.map((r) => r.authorization)).toEqual(['Bearer exec-v-true', 'Bearer exec-v-true']);
    expect(readFileSync(counter, 'utf8')).toBe('x');
  });

  it('merges $KUBECONFIG files, the first to name a context winning', () => {
    const dir = tempDir();
    const a = kubeconfig(dir, 'https://a.example:6443', { token: 'a' }, {}, 'a');
    const b = kubeconfig(dir, 'https://b.example:6443', { token: 'b' }, {}, 'b');
    const conn = resolveConnection({ env: { KUBECONFIG: `${join(dir, 'missing')}:${a}:${b}` } });
    expect(conn.server).toBe('https://a.example:6443');
    expect(conn.source).toBe('kubeconfig context "test"');
  });

  it('says what is wrong with a kubeconfig', () => {
    const dir = tempDir();
    const bad = join(dir, 'bad');
    writeFileSync(bad, stringify({ 'current-context': 'nope', contexts: [] }));
    expect(() => fromKubeconfig([bad])).toThrow(/context "nope" not found/);
    const legacy = kubeconfig(dir, 'https://x:443', { 'auth-provider': { name: 'gcp' } }, {}, 'legacy');
    expect(() => fromKubeconfig([legacy])).toThrow(/gke-gcloud-auth-plugin/);
    const halfCert = kubeconfig(dir, 'https://x:443', { 'client-certificate-data': b64('x') }, {}, 'half');
    expect(() => fromKubeconfig([halfCert])).toThrow(/both a client certificate and a key/);
    expect(() => fromKubeconfig([join(dir, 'none')])).toThrow(/none of/);
  });
});

describe('in-cluster and precedence', () => {
  function serviceAccount(): string {
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), 'sa-token\n');
    writeFileSync(join(dir, 'ca.crt'), read('server.crt'));
    writeFileSync(join(dir, 'namespace'), 'serving\n');
    return dir;
  }

  it('uses the service account: host and port from the environment, token, CA, namespace', () => {
    const conn = inCluster({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccount());
    expect(conn.server).toBe('https://10.96.0.1:443');
    expect(conn.namespace).toBe('serving');
    expect(conn.ca).toContain('BEGIN CERTIFICATE');
    return expect(conn.authorization()).resolves.toBe('Bearer sa-token');
  });

  it('brackets an IPv6 service host', () => {
    expect(inCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccount()).server).toBe('https://[fd00::1]:443');
  });

  it('prefers --kubeconfig, then $KUBECONFIG, then in-cluster, then ~/.kube/config', () => {
    const dir = tempDir();
    const flag = kubeconfig(dir, 'https://flag:1', { token: 't' }, {}, 'flag');
    const envFile = kubeconfig(dir, 'https://env:1', { token: 't' }, {}, 'env');
    const home = tempDir();
    mkdirSync(join(home, '.kube'));
    kubeconfig(join(home, '.kube'), 'https://home:1', { token: 't' }, {}, 'config');
    const sa = serviceAccount();
    const inClusterEnv = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '6443' };
    expect(resolveConnection({ kubeconfig: flag, env: { KUBECONFIG: envFile, ...inClusterEnv }, serviceAccountDir: sa, home }).server).toBe('https://flag:1');
    expect(resolveConnection({ env: { KUBECONFIG: envFile, ...inClusterEnv }, serviceAccountDir: sa, home }).server).toBe('https://env:1');
    expect(resolveConnection({ env: inClusterEnv, serviceAccountDir: sa, home }).server).toBe('https://10.0.0.1:6443');
    expect(resolveConnection({ env: {}, serviceAccountDir: sa, home }).server).toBe('https://home:1');
    expect(() => resolveConnection({ env: {}, serviceAccountDir: sa, home: tempDir() })).toThrow(/no Kubernetes configuration/);
  });
});

