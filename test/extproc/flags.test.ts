/** The front door's flag table and its conversion to server options. */
import { describe, expect, it } from 'vitest';
import { parseFlags, type FlagSpec } from '../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { DEFAULT_MAX_BODY_BYTES, extProcFlagSpecs, extProcOptionsFromFlags, parseBodyMode } from '../../src/frontends/extproc/flags.js';
import { BodySendMode } from '../../src/frontends/extproc/messages.js';
import { DEFAULT_STREAM_LIMITS } from '../../src/frontends/extproc/stream-limits.js';

describe('ext_proc flags', () => {
  it('defaults match the Go EPP (9002, 9003, secure serving on)', () => {
    expect(extProcOptionsFromFlags({})).toEqual({
      host: '0.0.0.0',
      port: 9002,
      healthPort: 9003,
      secure: true,
      certPath: null,
      defaultBodyMode: BodySendMode.FULL_DUPLEX_STREAMED,
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      limits: DEFAULT_STREAM_LIMITS,
      maxConcurrentStreamsPerConnection: 1000,
      keepaliveTimeMs: 60_000,
      certReloadIntervalMs: 10_000,
      streamResetsPerSecond: 10_000,
    });
    expect(extProcFlagSpecs.map((f) => f.name)).toEqual([
      'secure-serving',
      'cert-path',
      'cert-reload-interval',
      'default-body-mode',
      'max-body-bytes',
      'extproc-request-timeout',
      'extproc-idle-timeout',
      'max-active-streams',
      'grpc-max-concurrent-streams',
      'grpc-keepalive-time',
      'grpc-stream-reset-rate',
      'max-buffered-request-bytes',
    ]);
  });

  it('is part of the serve flag table, which declares every name once', () => {
    const names = SERVE_FLAGS.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const f of extProcFlagSpecs) expect(names, f.name).toContain(f.name);
    const merged: FlagSpec[] = SERVE_FLAGS;
    const parsed = parseFlags(merged, ['--secure-serving=false', '--cert-path', '/tls', '--grpc-port=1234', '--default-body-mode=BUFFERED']);
    expect(extProcOptionsFromFlags(parsed.values)).toMatchObject({ secure: false, certPath: '/tls', port: 1234, defaultBodyMode: BodySendMode.BUFFERED });
  });

  it('converts parsed values (strings or typed)', () => {
    expect(
      extProcOptionsFromFlags({
        'bind-address': '127.0.0.1',
        'grpc-port': '19002',
        'grpc-health-port': 0,
        'secure-serving': 'false',
        'cert-path': '/etc/tls',
        'default-body-mode': 'buffered',
        'max-body-bytes': '1024',
        'extproc-request-timeout': '30s',
        'extproc-idle-timeout': 0,
        'max-active-streams': '50',
        'grpc-max-concurrent-streams': 0,
        'max-buffered-request-bytes': 4096,
        'grpc-keepalive-time': '10s',
      }),
    ).toEqual({
      host: '127.0.0.1',
      port: 19002,
      healthPort: 0,
      secure: false,
      certPath: '/etc/tls',
      defaultBodyMode: BodySendMode.BUFFERED,
      maxBodyBytes: 1024,
      limits: { requestTimeoutMs: 30_000, idleTimeoutMs: 0, maxActiveStreams: 50, maxBufferedBytes: 4096 },
      maxConcurrentStreamsPerConnection: 0,
      keepaliveTimeMs: 10_000,
      certReloadIntervalMs: 10_000,
      streamResetsPerSecond: 10_000,
    });
  });

  it('rejects bad values with a coded flag error', () => {
    expect(() => extProcOptionsFromFlags({ 'grpc-port': '70000' })).toThrow(/invalid flag --grpc-port/);
    expect(() => extProcOptionsFromFlags({ 'max-body-bytes': '0' })).toThrow(/invalid flag --max-body-bytes/);
    expect(() => extProcOptionsFromFlags({ 'extproc-request-timeout': 'soon' })).toThrow(/invalid flag --extproc-request-timeout/);
    expect(() => extProcOptionsFromFlags({ 'max-active-streams': -1 })).toThrow(/invalid flag --max-active-streams/);
    expect(() => parseBodyMode('STREAMED')).toThrow(/invalid flag --default-body-mode/);
    expect(parseBodyMode('full-duplex-streamed')).toBe(BodySendMode.FULL_DUPLEX_STREAMED);
  });
});
