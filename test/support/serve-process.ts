/**
 * `switchboard serve` as a real child process (the TypeScript sources through ts-run), with its
 * JSON log lines collected and the ports it bound read from them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServeProcess {
  child: ChildProcess;
  /** Every JSON log line so far, in order. */
  logs: Array<Record<string, unknown> & { msg?: string; time?: number }>;
  /** Raw stderr. */
  stderr(): string;
  grpcPort: number;
  healthPort: number;
  proxyUrl: string;
  metricsPort: number;
  /** Resolves with the exit code (or signal name) once the process ends. */
  exited: Promise<number | string>;
  /** Resolves with the first log line whose `msg` matches. */
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(): void;
}

/** Starts `switchboard serve <args>` on loopback with ephemeral ports; resolves once it has started. */
export async function startServeProcess(args: string[], timeoutMs = 60_000): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      join(repo, 'test/support/ts-run/register.mjs'),
      join(repo, 'src/cli.ts'),
      'serve',
      '--bind-address=127.0.0.1',
      '--grpc-port=0',
      '--grpc-health-port=0',
      '--metrics-port=0',
      '--proxy-port=0',
      '--log-pretty=false',
      ...args,
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: ServeProcess['logs'] = [];
  const waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let buffered = '';
  let err = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (text: string) => {
    buffered += text;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      logs.push(parsed);
      for (const w of [...waiters]) {
        if (w.match(parsed)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (t: string) => (err += t));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const waitForLog = (msg: string | RegExp, ms = timeoutMs): Promise<Record<string, unknown>> => {
    const match = (l: Record<string, unknown>) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg)));
    const seen = logs.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log "${String(msg)}" within ${ms} ms; stderr: ${err}`)), ms);
      waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited (${code}) before logging "${String(msg)}"; stderr: ${err}`));
      });
    });
  };
  try {
    const listening = await waitForLog('ext_proc server listening');
    const started = await waitForLog('switchboard started');
    return {
      child,
      logs,
      stderr: () => err,
      grpcPort: Number(listening.port),
      healthPort: Number(listening.healthPort),
      proxyUrl: String(started.proxyUrl),
      metricsPort: Number(started.metricsPort),
      exited,
      waitForLog,
      kill: () => child.kill('SIGKILL'),
    };
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
}
