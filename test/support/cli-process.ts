/**
 * Runs the `switchboard` CLI as a real child process (the TypeScript sources through ts-run, as
 * serve-process.ts does) and collects its exit code and output. For commands that exit by
 * themselves: usage errors, `--print-config`, `--help`, startup failures.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Spawns `switchboard <args>`; kills it after `timeoutMs` (then `code` is the signal name). */
export function runCli(args: readonly string[], timeoutMs = 60_000): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', join(repo, 'test/support/ts-run/register.mjs'), join(repo, 'src/cli.ts'), ...args], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    });
  });
}

/** The JSON lines of `text` (others skipped). */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
