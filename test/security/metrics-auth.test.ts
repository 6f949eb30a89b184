/**
 * `--metrics-endpoint-auth` with Kubernetes: a real `serve` with InferencePool discovery against
 * the fake API server (real HTTP), whose TokenReview and SubjectAccessReview answers decide who
 * may read /metrics and /debug/*. Auth is on by default there, as in the Go EPP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseFlags } from '../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { startServe, stopAll, type Closable } from '../../src/cli/serve.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { KubeClient } from '../../src/discovery/kubernetes/client.js';
import { fromKubeconfig } from '../../src/discovery/kubernetes/connection.js';
import { TokenReviewAuthenticator } from '../../src/discovery/kubernetes/token-review-authenticator.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { basicAsBearer, bearerToken, StaticTokenAuthenticator } from '../../src/telemetry/metrics-auth.js';
import { FakeApiServer, podObject } from '../support/fake-apiserver.js';
import { writeKubeconfig } from '../support/kube.js';

const POOLS = '/apis/inference.networking.k8s.io/v1/namespaces/serving/inferencepools';
const PODS = '/api/v1/namespaces/serving/pods';
const PROMETHEUS = 'system:serviceaccount:monitoring:prometheus';
const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function kubeconfigFor(api: FakeApiServer): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-mauth-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return writeKubeconfig(join(dir, 'kubeconfig'), api.url, { name: 'epp', token: 'epp-sa-token' });
}

async function apiServer(): Promise<FakeApiServer> {
  const api = await new FakeApiServer().start();
  cleanup.push(() => api.close());
  api.serve(POOLS, 'InferencePoolList', 'inference.networking.k8s.io/v1').serve(PODS, 'PodList', 'v1');
  api.put(POOLS, { metadata: { name: 'llm' }, spec: { selector: { matchLabels: { app: 'vllm' } }, targetPorts: [{ number: 8000 }] } });
  api.put(PODS, podObject('vllm-0', { ip: '127.0.0.1' }));
  api.tokenUsers.set('prom-token', { username: PROMETHEUS, uid: 'u-1', groups: ['system:serviceaccounts'] });
  api.tokenUsers.set('intruder-token', { username: 'system:serviceaccount:default:intruder' });
  api.allowedNonResource.add(`${PROMETHEUS} get /metrics`);
  api.allowedNonResource.add(`${PROMETHEUS} get /debug/endpoints`);
  return api;
}

async function serve(api: FakeApiServer, extra: string[] = []) {
  const logger = createLogger('silent');
  const flags = parseFlags(SERVE_FLAGS, [
    '--metrics-port=0',
    '--grpc-port=-1',
    '--grpc-health-port=0',
    '--bind-address=127.0.0.1',
    '--pool-name=llm',
    '--pool-namespace=serving',
    `--kubeconfig=${kubeconfigFor(api)}`,
    '--enable-debug-endpoints',
    ...extra,
  ]);
  const started = await startServe(flags, defaultConfig(), logger);
  cleanup.push(() => stopAll(started.closables as Closable[], logger));
  await vi.waitFor(() => expect(started.core.pool.synced).toBe(true));
  const base = `http://127.0.0.1:${started.metricsPort}`;
  const get = async (path: string, token?: string) => {
    const r = await request(base + path, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
  };
  return { ...started, get };
}

describe('metrics endpoint auth with Kubernetes TokenReview + SubjectAccessReview', () => {
  it('is on by default with InferencePool discovery: allowed, 401, 403, and refusals counted by reason', async () => {
    const api = await apiServer();
    const { get } = await serve(api);

    const ok = await get('/metrics', 'prom-token');
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('inference_pool_ready_pods');
    // The reviews went to the API server with the EPP's own credentials, for the right user and path.
    const reviews = api.reviewRequests();
    expect(reviews.map((r) => r.path)).toEqual(['/apis/authentication.k8s.io/v1/tokenreviews', '/apis/authorization.k8s.io/v1/subjectaccessreviews']);
    expect(reviews.every((r) => r.authorization === 'Bearer epp-sa-token')).toBe(true);
    expect(reviews[0].body).toEqual({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'prom-token' } });
    expect(reviews[1].body).toMatchObject({
      kind: 'SubjectAccessReview',
      spec: { user: PROMETHEUS, uid: 'u-1', groups: ['system:serviceaccounts'], nonResourceAttributes: { path: '/metrics', verb: 'get' } },
    });

    const none = await get('/metrics');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect((await get('/metrics', 'not-a-token')).status).toBe(401);
    expect((await get('/metrics', 'intruder-token')).status).toBe(403);
    // /debug/* is its own non-resource URL: allowed for one path, not for another.
    expect((await get('/debug/endpoints', 'prom-token')).status).toBe(200);
    const cfg = await get('/debug/config', 'prom-token');
    expect(cfg.status).toBe(403);
    expect(cfg.text).toContain('may not get /debug/config');

    const text = (await get('/metrics', 'prom-token')).text;
    expect(text).toContain('switchboard_metrics_endpoint_unauthorized_total{reason="missing_token"} 1');
    expect(text).toContain('switchboard_metrics_endpoint_unauthorized_total{reason="invalid_token"} 1');
    expect(text).toContain('switchboard_metrics_endpoint_unauthorized_total{reason="forbidden"} 2');
  });

  it('caches decisions: a second scrape makes no API call', async () => {
    const api = await apiServer();
    const { get } = await serve(api);
    expect((await get('/metrics', 'prom-token')).status).toBe(200);
    const after = api.reviewRequests().length;
    expect(after).toBe(2);
    expect((await get('/metrics', 'prom-token')).status).toBe(200);
    expect((await get('/metrics', 'prom-token')).status).toBe(200);
    expect(api.reviewRequests().length).toBe(after);
    // Refusals are cached too (briefly), and concurrent checks of one token share a review.
    await Promise.all([get('/metrics', 'intruder-token'), get('/metrics', 'intruder-token'), get('/metrics', 'intruder-token')]);
    expect(api.reviewRequests().length).toBe(after + 2);
  });

  it('answers 503 when the API server fails or cannot be reached, counts it, and does not cache it', async () => {
    const api = await apiServer();
    const { get } = await serve(api);
    api.failures.push({ match: (r) => r.path.endsWith('/tokenreviews'), status: 500, times: 1 });
    const failed = await get('/metrics', 'prom-token');
    expect(failed.status).toBe(503);
    expect(failed.headers['retry-after']).toBe('1');
    // Not cached: once the API server answers again, the same token is let in.
    expect((await get('/metrics', 'prom-token')).status).toBe(200);

    // The EPP's own service account lacking RBAC for reviews is also our failure, not the caller's.
    api.forbidden.add('/apis/authorization.k8s.io/v1/subjectaccessreviews');
    expect((await get('/debug/endpoints', 'prom-token')).status).toBe(503);
    api.forbidden.clear();

    await api.close();
    expect((await get('/metrics', 'other-token')).status).toBe(503);
    // A decision cached before the outage still holds.
    const cached = await get('/metrics', 'prom-token');
    expect(cached.status).toBe(200);
    expect(cached.text).toContain('switchboard_metrics_endpoint_unauthorized_total{reason="unavailable"} 3');
  });

  it('can be turned off, and a static token file still works in a cluster', async () => {
    const api = await apiServer();
    const off = await serve(api, ['--metrics-endpoint-auth=false']);
    expect((await off.get('/metrics')).status).toBe(200);

    const dir = mkdtempSync(join(tmpdir(), 'sb-mauth-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'token'), 'static-one\n');
    const before = api.reviewRequests().length;
    const fixed = await serve(api, [`--metrics-token-file=${join(dir, 'token')}`]);
    expect((await fixed.get('/metrics', 'static-one')).status).toBe(200);
    expect((await fixed.get('/metrics', 'prom-token')).status).toBe(401);
    expect(api.reviewRequests().length).toBe(before);
  });
});

describe('TokenReviewAuthenticator', () => {
  async function authenticator(api: FakeApiServer, opts: { timeoutMs?: number; now?: () => number } = {}) {
    const client = new KubeClient(fromKubeconfig([kubeconfigFor(api)]));
    cleanup.push(() => client.close());
    return new TokenReviewAuthenticator({ client, ...opts });
  }

  it('times out a hung API server with 503', async () => {
    const api = await apiServer();
    const auth = await authenticator(api, { timeoutMs: 200 });
    api.hangReviews = true;
    expect(await auth.authorize('Bearer prom-token', '/metrics')).toMatchObject({ allowed: false, status: 503, reason: 'unavailable' });
  });

  it('keeps allowed decisions 10 s and refusals 2 s', async () => {
    const api = await apiServer();
    let now = 1000;
    const auth = await authenticator(api, { now: () => now });
    expect(await auth.authorize('Bearer prom-token', '/metrics')).toEqual({ allowed: true });
    expect(await auth.authorize('Bearer intruder-token', '/metrics')).toMatchObject({ status: 403 });
    const n = api.reviewRequests().length;
    now += 2500;
    expect(await auth.authorize('Bearer prom-token', '/metrics')).toEqual({ allowed: true });
    expect(await auth.authorize('Bearer intruder-token', '/metrics')).toMatchObject({ status: 403 });
    expect(api.reviewRequests().length).toBe(n + 2); // only the refusal was asked again
    // A revoked permission shows once the allowed decision expires.
    api.allowedNonResource.clear();
    now += 10_000;
    expect(await auth.authorize('Bearer prom-token', '/metrics')).toMatchObject({ status: 403, reason: 'forbidden' });
  });

  it('treats malformed review answers as not authenticated', async () => {
    const api = await apiServer();
    const auth = await authenticator(api);
    api.tokenUsers.set('no-name', { username: '' });
    expect(await auth.authorize('Bearer no-name', '/metrics')).toMatchObject({ status: 401, reason: 'invalid_token' });
  });
});

describe('bearer token parsing', () => {
  it.each([
    [undefined, 'missing_token'],
    ['', 'missing_token'],
    ['Basic dXNlcjpwYXNz', 'invalid_token'],
    ['Bearer', 'invalid_token'],
    ['Bearer a b', 'invalid_token'],
    [`Bearer ${'x'.repeat(16 * 1024 + 1)}`, 'invalid_token'],
  ])('%s is refused as %s', (header, reason) => {
    expect(bearerToken(header as string | undefined)).toMatchObject({ allowed: false, status: 401, reason });
  });

  it('accepts any case of the scheme', () => {
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(new StaticTokenAuthenticator('abc').authorize('BEARER abc')).toEqual({ allowed: true });
  });
});

describe('the dashboard\'s Basic credentials', () => {
  const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;
  it.each([
    { name: 'the password is the token, any user', header: basic('me:tok-123'), expected: 'Bearer tok-123' },
    { name: 'an empty user name', header: basic(':tok-123'), expected: 'Bearer tok-123' },
    { name: 'a colon inside the password stays', header: basic('me:a:b'), expected: 'Bearer a:b' },
    { name: 'an empty password stays Basic (refused)', header: basic('me:'), expected: basic('me:') },
    { name: 'no colon stays Basic (refused)', header: basic('tok'), expected: basic('tok') },
    { name: 'a password with a space stays Basic (refused)', header: basic('me:a b'), expected: basic('me:a b') },
    { name: 'a bearer token passes unchanged', header: 'Bearer x', expected: 'Bearer x' },
    { name: 'no header', header: undefined, expected: undefined },
  ])('$name', ({ header, expected }) => {
    expect(basicAsBearer(header)).toBe(expected);
  });

  it('refuses what it leaves as Basic', () => {
    expect(new StaticTokenAuthenticator('tok').authorize(basicAsBearer(basic('me:')))).toMatchObject({ allowed: false, status: 401 });
    expect(new StaticTokenAuthenticator('tok').authorize(basicAsBearer(basic('me:tok')))).toEqual({ allowed: true });
  });
});
