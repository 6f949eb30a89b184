import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ProxyMetrics } from '../../src/frontends/proxy/proxy-metrics.js';
import { isSwitchboardError } from '../../src/errors.js';
import { parseFlags, type FlagSpec } from '../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { DEFAULT_PROXY_SETTINGS, resolveProxySettings } from '../../src/frontends/proxy/options.js';
import { PROXY_FLAGS, proxyFlagValues } from '../../src/frontends/proxy/flags.js';
import { classifyUpstreamError } from '../../src/frontends/proxy/upstream-failure.js';
import { parseModelList } from '../../src/frontends/proxy/model-catalog.js';
import { explanationHeaderValue, upstreamRequestHeaders } from '../../src/frontends/proxy/headers.js';

describe('proxy flags', () => {
  const parse = (argv: string[]) => proxyFlagValues(parseFlags([...SERVE_FLAGS, ...PROXY_FLAGS], argv).values);

  it('are part of the serve flags, without clashing', () => {
    const merged: FlagSpec[] = SERVE_FLAGS; // also a compile-time shape check
    const names = merged.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const f of PROXY_FLAGS) expect(names).toContain(f.name);
    for (const f of PROXY_FLAGS) expect(f.name.startsWith('proxy-')).toBe(true);
  });

  it('gives the defaults when no flag is set: proxy off', () => {
    const v = parse([]);
    expect(v.port).toBe(-1);
    expect(resolveProxySettings(v.settings)).toEqual(DEFAULT_PROXY_SETTINGS);
  });

  it('reads set flags, Go style', () => {
    const v = parse([
      '--proxy-port=8080',
      '--proxy-retries', '0',
      '--proxy-repick=false',
      '--proxy-connect-timeout', '250ms',
      '--proxy-first-byte-timeout=1m30s',
      '-proxy-idle-stream-timeout=45s',
      '--proxy-max-body-bytes=1024',
      '--proxy-max-connections-per-endpoint=8',
      '--proxy-max-buffered-request-bytes=2048',
      '--proxy-lingering-bytes=4096',
      '--proxy-lingering-time=2s',
    ]);
    expect(v.port).toBe(8080);
    expect(v.settings.retries).toEqual({ max: 0, repick: false });
    expect(v.settings.timeouts).toEqual({ connectMs: 250, firstByteMs: 90_000, idleStreamMs: 45_000 });
    expect(v.settings.maxBodyBytes).toBe(1024);
    expect(v.settings.pool?.connectionsPerEndpoint).toBe(8);
    expect(v.settings.maxBufferedBytes).toBe(2048);
    expect(v.settings.lingeringClose).toEqual({ maxBytes: 4096, timeMs: 2000 });
  });

  const bad: Array<[string, string]> = [
    ['proxy-port', '-2'],
    ['proxy-port', '70000'],
    ['proxy-retries', 'two'],
    ['proxy-retries', '-3'],
    ['proxy-repick', 'yes'],
    ['proxy-connect-timeout', '5 seconds'],
    ['proxy-connect-timeout', '0'],
    ['proxy-max-body-bytes', '0'],
    ['proxy-lingering-bytes', '-1'],
    ['proxy-lingering-time', 'soon'],
  ];
  it.each(bad)('rejects --%s=%s with a coded flag error', (name, value) => {
    let err: unknown;
    try {
      parse([`--${name}=${value}`]);
    } catch (e) {
      err = e;
    }
    expect(isSwitchboardError(err) && err.code === 'SB_ERR_FLAG' && err.message.includes(name)).toBe(true);
  });
});

describe('upstream error classification', () => {
  it.each([
    ['ECONNREFUSED', 'connect', true, 503],
    ['UND_ERR_CONNECT_TIMEOUT', 'connect_timeout', true, 504],
    ['UND_ERR_HEADERS_TIMEOUT', 'first_byte_timeout', true, 504],
    ['UND_ERR_SOCKET', 'reset', true, 502],
    ['ECONNRESET', 'reset', true, 502],
    ['UND_ERR_BODY_TIMEOUT', 'idle_timeout', false, 504],
    ['HPE_INVALID_CONSTANT', 'protocol', false, 502],
  ])('%s is %s', (code, reason, retryable, status) => {
    const err = Object.assign(new Error('boom'), { code });
    const f = classifyUpstreamError(err, '10.0.0.1:8000');
    expect([f.reason, f.retryable, f.error.status]).toEqual([reason, retryable, status]);
    expect(f.error.message).toContain('10.0.0.1:8000');
  });
});

describe('model list parsing', () => {
  it('keeps cards with an id, marks adapters by parent, drops junk', () => {
    const cards = parseModelList(
      JSON.stringify({
        object: 'list',
        data: [{ id: 'base', parent: null, max_model_len: 10 }, { id: 'lora', parent: 'base' }, { id: 3 }, null, 'x', { parent: 'base' }],
      }),
    );
    expect(cards).toEqual([
      { id: 'base', object: 'model', parent: null, max_model_len: 10 },
      { id: 'lora', object: 'model', parent: 'base' },
    ]);
  });

  it.each(['not json', '{}', '{"data":{}}', 'null'])('rejects %j', (text) => {
    expect(() => parseModelList(text)).toThrow();
  });
});

describe('headers', () => {
  it('drops hop-by-hop, routing and encoding headers and sets the request id', () => {
    const out = upstreamRequestHeaders(
      {
        host: 'proxy',
        connection: 'keep-alive',
        'content-length': '10',
        'content-type': 'application/json',
        'accept-encoding': 'gzip',
        authorization: 'Bearer t',
        'x-request-id': 'client',
        'x-gateway-destination-endpoint': '1.2.3.4:5',
        'x-gateway-destination-endpoint-subset': '1.2.3.4:5',
        'x-gateway-inference-fairness-id': 'tenant-a',
        'set-cookie': ['a=1', 'b=2'],
      },
      'rid',
    );
    expect(out).toEqual([
      'content-type', 'application/json',
      'authorization', 'Bearer t',
      'x-gateway-inference-fairness-id', 'tenant-a',
      'set-cookie', 'a=1', 'set-cookie', 'b=2',
      'x-request-id', 'rid',
    ]);
  });

  it('keeps a long explanation within header size by listing only the picked endpoints', () => {
    const endpoints = Array.from({ length: 500 }, (_, i) => ({ endpoint: `10.0.${i >> 8}.${i & 255}:8000`, filteredBy: null, scores: { q: 0.5 }, total: 0.5 }));
    const value = explanationHeaderValue({ picked: ['10.0.0.7:8000'], endpoints });
    expect(value.length).toBeLessThan(16 * 1024);
    expect(JSON.parse(value)).toMatchObject({ omittedEndpoints: 499, endpoints: [{ endpoint: '10.0.0.7:8000' }] });
    expect(explanationHeaderValue({ picked: [], endpoints: [{ endpoint: 'é' }] })).toBe('{"picked":[],"endpoints":[{"endpoint":"\\u00e9"}]}');
  });
});

describe('proxy metrics', () => {
  it('share counters when a second proxy registers on the same registry', async () => {
    const registry = new Registry();
    const a = new ProxyMetrics(registry);
    const b = new ProxyMetrics(registry);
    a.retry('repick');
    b.retry('repick');
    b.upstreamFailure('connect');
    const text = await registry.metrics();
    expect(text).toContain('switchboard_proxy_retries_total{kind="repick"} 2');
    expect(text).toContain('switchboard_proxy_upstream_failures_total{reason="connect"} 1');
  });
});
