/**
 * The CLI as a user runs it (a spawned process): usage errors exit 2, and a port that is already
 * taken stops `serve` or `sim` with the address and the flag to change.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-process.js';
import { startServeProcess } from '../support/serve-process.js';

describe('switchboard without a usable command', () => {
  it('no command: usage on stderr, exit 2', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^switchboard: no command given\n\nusage: switchboard <command> \[flags\]/);
    expect(r.stderr).toMatch(/serve .*\n.*sim .*\n.*load .*\n.*bench /);
  });

  it('an unknown command: named, usage, exit 2', async () => {
    const r = await runCli(['serv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^switchboard: unknown command "serv"\n\nusage:/);
  });

  it('an unknown flag: the nearest valid one, exit 2', async () => {
    const r = await runCli(['sim', '--podz=2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('switchboard sim: invalid flag --podz: unknown flag (did you mean --pods?)\n');
  });

  it('--help is generated from the table and exits 0', async () => {
    const r = await runCli(['load', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: switchboard load --scenario FILE --url URL \[flags\]/);
    expect(r.stdout).toMatch(/--concurrency <int>\n\s+most requests in flight \(>= 1\) \(default 256\)/);
  });
});

describe('an address already in use names the flag to change', () => {
  let blocker: Server;
  let taken: number;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    taken = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  const serve = ['serve', '--bind-address=127.0.0.1', '--grpc-port=0', '--grpc-health-port=0', '--metrics-port=0', '--log-pretty=false', '--log-level=error'];
  it.each<[string, (port: number) => string[]]>([
    ['grpc-port', (p) => [...serve, `--grpc-port=${p}`]],
    ['grpc-health-port', (p) => [...serve, `--grpc-health-port=${p}`]],
    ['metrics-port', (p) => [...serve, `--metrics-port=${p}`]],
    ['proxy-port', (p) => [...serve, `--proxy-port=${p}`]],
    ['base-port', (p) => ['sim', '--host=127.0.0.1', `--base-port=${p}`]],
  ])('--%s', async (flag, args) => {
    const r = await runCli(args(taken));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`switchboard (serve|sim): address 127\\.0\\.0\\.1:${taken} in use: change --${flag}\\n$`));
  });
});

describe('serve started with upstream-only flags', () => {
  it('logs each ignored flag once at start, as a coded warning naming the flag and why', async () => {
    const p = await startServeProcess(['--tracing=true', '--enable-pprof', '--tls-min-version=VersionTLS13', '--zap-encoder=json', '--v=2']);
    try {
      const warnings = p.logs.filter((l) => l.code === 'SB_WARN_FLAG_IGNORED');
      expect(warnings.map((l) => [l.flag, l.level])).toEqual([
        ['enable-pprof', 40],
        ['tracing', 40],
        ['tls-min-version', 40],
      ]);
      expect(String(warnings[1].msg)).toBe('flag --tracing is accepted and ignored: tracing is not implemented');
      // Logged before anything listens: once, at start.
      expect(p.logs.findIndex((l) => l.code === 'SB_WARN_FLAG_IGNORED')).toBeLessThan(p.logs.findIndex((l) => l.msg === 'switchboard started'));
    } finally {
      p.kill();
      await p.exited;
    }
  });
});
