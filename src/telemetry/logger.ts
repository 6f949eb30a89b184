/**
 * Structured logging with pino: JSON by default, pretty-printed when stdout is a terminal.
 * Request bodies, prompts and completions are never logged; callers log ids, models and picks.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Maps the Go EPP's `--v` verbosity (klog levels) to a pino level. */
export function levelFromVerbosity(v: number): LogLevel {
  if (v >= 5) return 'trace';
  if (v >= 3) return 'debug';
  return 'info';
}

/** Creates the process logger. `pretty` defaults to whether stdout is a TTY; `destination` (tests) replaces stdout. */
export function createLogger(level: LogLevel, opts: { pretty?: boolean; name?: string; destination?: DestinationStream } = {}): Logger {
  const pretty = opts.destination === undefined && (opts.pretty ?? process.stdout.isTTY === true);
  const options = {
    name: opts.name ?? 'switchboard',
    level,
    base: { pid: process.pid },
    // Belt and braces: never serialize bodies even if a caller passes one by mistake.
    redact: { paths: ['body', 'prompt', 'messages', '*.body', '*.prompt', '*.messages', 'authorization', '*.authorization'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l' } } } : {}),
  };
  return opts.destination === undefined ? pino(options) : pino(options, opts.destination);
}

export type { Logger };
