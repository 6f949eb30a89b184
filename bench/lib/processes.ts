/**
 * Child processes of the wall-clock benchmarks (proxy, proxy A/B): CPU pinning with `taskset`,
 * CPU time read from /proc, and helper scripts started as their own processes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether two CPUs and `taskset` are there to pin the proxy and the load apart (`PIN=0` turns it off). */
export async function canPin(): Promise<boolean> {
  return process.env.PIN !== '0' && cpus().length >= 2 && run('taskset', ['-c', '0', 'true']).then(() => true, () => false);
}

/** `cmd args` prefixed with `pin` (a taskset prefix, or empty for none). */
export function pinned(pin: string[], cmd: string, args: string[]): [string, string[]] {
  return pin.length === 0 ? [cmd, args] : [pin[0], [...pin.slice(1), cmd, ...args]];
}

/** User + system CPU time of `pid` so far, in microseconds (from /proc; 0 where there is none). */
export function cpuTimeUs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return 0;
  }
}

/**
 * Starts the Node script at `path` (pinned with `pin`), adds it to `children`, and resolves with
 * what it printed as `key=value` lines (plus its `pid`) once it printed `port` (and, for
 * switchboard-proxy.js, `director`).
 */
export function startScript(path: string, args: string[], pin: string[], children: ChildProcess[]): Promise<Record<string, string>> {
  const proxy = basename(path) === 'switchboard-proxy.js';
  return new Promise((resolve, reject) => {
    const [cmd, argv] = pinned(pin, process.execPath, [path, ...args]);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const fields: Record<string, string> = { pid: String(child.pid) };
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      for (const line of buf.split('\n').slice(0, -1)) {
        const [k, v] = line.split('=');
        fields[k] = v;
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
      if (fields.port !== undefined && (!proxy || fields.director !== undefined)) resolve(fields);
    });
    child.on('exit', (code) => reject(new Error(`${basename(path)} exited with ${code}`)));
  });
}
