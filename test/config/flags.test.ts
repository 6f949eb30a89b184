import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { parseEndpointsFlag } from '../../src/cli/serve.js';

describe('Go-style flags', () => {
  it('accepts a Go EPP command line unchanged', () => {
    const f = parseFlags(SERVE_FLAGS, [
      '-grpc-port=9002', '--grpc-health-port', '9003', '-pool-name', 'vllm-llama3-8b-instruct', '--pool-namespace=default',
      '-v', '4', '--refresh-metrics-interval=50ms', '--metrics-staleness-threshold', '2s', '--secure-serving=false'.replace('secure-serving', 'health-checking'),
      '-enable-pprof=false', '--total-queued-requests-metric=vllm:num_requests_waiting',
    ]);
    expect(f.values['grpc-port']).toBe(9002);
    expect(f.values['pool-name']).toBe('vllm-llama3-8b-instruct');
    expect(f.values.v).toBe(4);
    expect(f.values['refresh-metrics-interval']).toBe(50);
    expect(f.values['metrics-staleness-threshold']).toBe(2000);
    expect(f.values['enable-pprof']).toBe(false);
    expect(f.given.has('total-queued-requests-metric')).toBe(true);
  });

  it('treats a bare boolean as true and does not consume the next argument', () => {
    const f = parseFlags(SERVE_FLAGS, ['--demo', 'extra']);
    expect(f.values.demo).toBe(true);
    expect(f.positional).toEqual(['extra']);
  });

  it('explains bad flags', () => {
    expect(() => parseFlags(SERVE_FLAGS, ['--grpc-prot=1'])).toThrow(/invalid flag --grpc-prot: unknown flag/);
    expect(() => parseFlags(SERVE_FLAGS, ['--grpc-port=abc'])).toThrow(/must be an integer/);
    expect(() => parseFlags(SERVE_FLAGS, ['--demo=maybe'])).toThrow(/true or false/);
    expect(() => parseFlags(SERVE_FLAGS, ['--refresh-metrics-interval=fast'])).toThrow(/duration/);
    expect(() => parseFlags(SERVE_FLAGS, ['--pool-name'])).toThrow(/needs a value/);
  });

  it('parses --endpoints', () => {
    expect(parseEndpointsFlag('10.0.0.1:8000, [fd00::1]:8001')).toEqual([
      { address: '10.0.0.1', port: 8000 },
      { address: 'fd00::1', port: 8001 },
    ]);
    expect(() => parseEndpointsFlag('10.0.0.1')).toThrow(/not host:port/);
  });
});
