/**
 * The attack surface of `switchboard serve` as a user starts it (flags, real ports): TLS on the
 * ext_proc port by default with certificate reload, the metrics port behind a bearer token,
 * debug endpoints off unless enabled (and then behind the same token), and logs at debug level
 * that never carry prompts, completions or secrets.
 */
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { credentials, status as GrpcStatus } from '@grpc/grpc-js';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseFlags } from '../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { startServe, stopAll, type Closable } from '../../src/cli/serve.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { createSelfSignedCertificate } from '../../src/frontends/grpc/self-signed.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { tokenFromFile } from '../../src/telemetry/token-file.js';
import { EnvoyExtProcClient } from '../support/envoy-client.js';
import { EnvoyEmulator } from '../support/envoy-emulator.js';
import { VllmPod } from '../support/vllm-pod.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-sec-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function pod(options: ConstructorParameters<typeof VllmPod>[0] = {}): Promise<VllmPod> {
  const p = await new VllmPod({ address: '127.0.0.1', ...options }).start();
  cleanup.push(() => p.stop());
  return p;
}

/** `serve` with loopback ephemeral ports and `args`; stopped after the test. */
async function serve(args: string[], logger = createLogger('silent')) {
  const flags = parseFlags(SERVE_FLAGS, ['--bind-address=127.0.0.1', '--grpc-port=0', '--grpc-health-port=0', '--metrics-port=0', '--refresh-metrics-interval=20ms', ...args]);
  const started = await startServe(flags, defaultConfig(), logger);
  cleanup.push(() => stopAll(started.closables as Closable[], logger));
  await vi.waitFor(() => expect(started.core.pool.endpoints().every((e) => e.metrics !== null)).toBe(true), { timeout: 5000 });
  return started;
}

const BODY = JSON.stringify({ model: 'base-model', prompt: 'hello' });

describe('TLS on the ext_proc port', () => {
  function writePair(dir: string, cn: string): string {
    const pair = createSelfSignedCertificate({ commonName: cn });
    writeFileSync(join(dir, 'tls.crt'), pair.cert);
    writeFileSync(join(dir, 'tls.key'), pair.key);
    return pair.cert;
  }

  function servedCommonName(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
        resolve(String(s.getPeerCertificate().subject?.CN));
        s.destroy();
      });
      s.on('error', reject);
      // A handshake stuck behind a loaded machine fails this attempt; waitFor tries again.
      s.setTimeout(2000, () => s.destroy(new Error('TLS handshake timed out')));
    });
  }

  it('is on by default: plaintext clients are refused, TLS clients served, a rotated certificate is picked up', async () => {
    const p = await pod();
    const dir = tempDir();
    const firstCert = writePair(dir, 'first');
    const { grpcPort } = await serve([`--endpoints=127.0.0.1:${p.port}`, `--cert-path=${dir}`, '--cert-reload-interval=50ms']);
    const port = grpcPort!;

    const plain = new EnvoyExtProcClient({ address: `127.0.0.1:${port}`, waitLimitMs: 3000 });
    cleanup.push(() => plain.close());
    expect(await plain.request({ body: BODY })).toMatchObject({ kind: 'local-reply', status: 500, grpcCode: GrpcStatus.UNAVAILABLE });

    const tls = new EnvoyExtProcClient({
      address: `127.0.0.1:${port}`,
      credentials: credentials.createSsl(Buffer.from(firstCert)),
      channelOptions: { 'grpc.ssl_target_name_override': 'localhost' },
    });
    cleanup.push(() => tls.close());
    expect(await tls.request({ body: BODY })).toMatchObject({ kind: 'upstream', originalDst: p.key });

    expect(await servedCommonName(port)).toBe('first');
    writePair(dir, 'second');
    await vi.waitFor(async () => expect(await servedCommonName(port)).toBe('second'), { timeout: 15_000, interval: 100 });
  }, 40_000);
});

describe('metrics and debug endpoints', () => {
  it('debug endpoints do not exist unless enabled', async () => {
    const p = await pod();
    const { metricsPort } = await serve([`--endpoints=127.0.0.1:${p.port}`, '--grpc-port=-1']);
    for (const path of ['/debug/endpoints', '/debug/config', '/debug/pprof']) {
      expect((await request(`http://127.0.0.1:${metricsPort}${path}`)).statusCode).toBe(404);
    }
    expect((await request(`http://127.0.0.1:${metricsPort}/metrics`)).statusCode).toBe(200);
  });

  it('with --metrics-endpoint-auth: /metrics and /debug/* need the bearer token, refusals are counted', async () => {
    const p = await pod();
    const dir = tempDir();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 's3cret-token\n');
    const { metricsPort } = await serve([
      `--endpoints=127.0.0.1:${p.port}`,
      '--grpc-port=-1',
      '--metrics-endpoint-auth',
      `--metrics-token-file=${tokenFile}`,
      '--enable-debug-endpoints',
    ]);
    const base = `http://127.0.0.1:${metricsPort}`;
    const get = async (path: string, auth?: string) => {
      const r = await request(base + path, { headers: auth === undefined ? {} : { authorization: auth } });
      return { status: r.statusCode, text: await r.body.text() };
    };
    for (const path of ['/metrics', '/debug/endpoints', '/debug/config']) {
      expect((await get(path)).status, path).toBe(401);
      expect((await get(path, 'Bearer wrong')).status, path).toBe(401);
      expect((await get(path, 's3cret-token')).status, path).toBe(401);
    }
    const metrics = await get('/metrics', 'Bearer s3cret-token');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('switchboard_metrics_endpoint_unauthorized_total{reason="missing_token"} 3');
    expect(metrics.text).toContain('switchboard_metrics_endpoint_unauthorized_total{reason="invalid_token"} 6');
    const endpoints = JSON.parse((await get('/debug/endpoints', 'Bearer s3cret-token')).text);
    expect(endpoints).toMatchObject({ synced: true, endpoints: [{ key: p.key, scrapeOk: true }] });
    const config = (await get('/debug/config', 'Bearer s3cret-token')).text;
    expect(JSON.parse(config)).toMatchObject({ config: { kind: 'EndpointPickerConfig' }, settings: { 'metrics-endpoint-auth': true, 'metrics-token-file': '[redacted]' } });
    expect(config).not.toContain('s3cret-token');
  });

  it('refuses to start with auth but no token source, or with an empty token file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'empty'), '  \n');
    const logger = createLogger('silent');
    const tryStart = (args: string[]) => startServe(parseFlags(SERVE_FLAGS, ['--grpc-port=-1', '--metrics-port=0', '--bind-address=127.0.0.1', ...args]), defaultConfig(), logger);
    // Without a token file the check is Kubernetes TokenReview, which needs an API server.
    await expect(tryStart(['--metrics-endpoint-auth', `--kubeconfig=${join(dir, 'missing')}`])).rejects.toThrow(
      /invalid flag --metrics-endpoint-auth: checks tokens with the Kubernetes API unless --metrics-token-file is given: .*none of .*missing exists/,
    );
    await expect(tryStart(['--metrics-endpoint-auth', `--metrics-token-file=${join(dir, 'empty')}`])).rejects.toThrow(/--metrics-token-file: .* is empty/);
    await expect(tryStart([`--metrics-token-file=${join(dir, 'empty')}`])).rejects.toThrow(/only used with --metrics-endpoint-auth/);
  });

  it('a rotated token file takes effect; an emptied one keeps the last good token', () => {
    const dir = tempDir();
    const file = join(dir, 'token');
    writeFileSync(file, 'one');
    let now = 0;
    const token = tokenFromFile(file, 'metrics-token-file', () => now);
    expect(token()).toBe('one');
    writeFileSync(file, 'two');
    // The file is re-read only after the recheck interval (its mtime may also need to change).
    now += 10_000;
    const later = token();
    expect(['one', 'two']).toContain(later);
    now += 10_000;
    writeFileSync(file, 'three');
    now += 10_000;
    expect(token()).toBe('three');
    writeFileSync(file, '');
    now += 10_000;
    expect(token()).toBe('three');
  });
});

describe('logs', () => {
  it('at debug level carry no prompt, completion or secret, whatever happens to the request', async () => {
    const PROMPT = 'PROMPT-CANARY-7d1f';
    const WORD = 'COMPLETION-CANARY-93ab';
    const SECRET = 'sk-SECRET-CANARY-51c0';
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createLogger('debug', { destination: sink });
    const good = await pod({ word: WORD, chunks: 3 });
    const dying = await pod({ word: WORD, chunks: 4, chunkDelayMs: 5 });
    const { proxyUrl, grpcPort, core } = await serve([`--endpoints=127.0.0.1:${good.port},127.0.0.1:${dying.port}`, '--proxy-port=0', '--secure-serving=false'], logger);
    const client = new OpenAI({ baseURL: `${proxyUrl}/v1`, apiKey: SECRET, maxRetries: 0 });
    const envoy = new EnvoyExtProcClient({ address: `127.0.0.1:${grpcPort}` });
    const emulator = new EnvoyEmulator(envoy);
    cleanup.push(async () => {
      envoy.close();
      await emulator.close();
    });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` };
    // Served, streamed, rejected (bad JSON around the prompt), broken mid-stream, all on both doors.
    await client.completions.create({ model: 'base-model', prompt: PROMPT });
    for await (const _ of await client.chat.completions.create({ model: 'base-model', messages: [{ role: 'user', content: PROMPT }], stream: true }));
    await request(`${proxyUrl}/v1/completions`, { method: 'POST', headers, body: `{"model":"base-model","prompt":"${PROMPT}"` }).then((r) => r.body.text());
    await request(`${proxyUrl}/v1/completions`, { method: 'POST', headers, body: `{"model":"base-model","prompt":"${PROMPT}","model":"x"}` }).then((r) => r.body.text());
    await emulator.send({ path: '/v1/completions', headers, body: JSON.stringify({ model: 'base-model', prompt: PROMPT, stream: true }) });
    await emulator.send({ path: '/v1/completions', headers, body: `{"model":"base-model","prompt":"${PROMPT}` });
    // A stream that breaks off mid-way on the pod the picker prefers (the other looks busy).
    dying.dieAfterChunks = 2;
    good.waiting = 50;
    await vi.waitFor(() => expect(core.pool.waiting[core.pool.get(good.key)!.slot]).toBe(50), { timeout: 3000 });
    await request(`${proxyUrl}/v1/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'base-model', prompt: PROMPT, stream: true }) })
      .then((r) => r.body.text())
      .catch(() => '');
    logger.flush();
    const text = lines.join('');
    // The capture is real: debug lines of these very requests are in it.
    expect(text).toContain('"level":20');
    expect(text).toMatch(/"msg":"scheduled"/);
    expect(text).toMatch(/broke off the response/);
    expect(text).toMatch(/error unmarshaling request body|SB_ERR_BAD_JSON/);
    for (const canary of [PROMPT, WORD, SECRET]) expect(text, canary).not.toContain(canary);
  });
});
