/**
 * Log level and format of `serve` from its flags, including the Go EPP's zap and klog flags
 * (controller-runtime's `--zap-*` and `--v`), so upstream command lines log as they ask.
 */
import { sbError } from '../errors.js';
import { levelFromVerbosity, type LogLevel } from '../telemetry/logger.js';
import type { ParsedFlags } from './flags.js';

/** Zap level names and the pino level each maps to (pino has no panic levels: fatal is nearest). */
const ZAP_LEVELS: Readonly<Record<string, LogLevel>> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  dpanic: 'fatal',
  panic: 'fatal',
  fatal: 'fatal',
};

/** The effective log settings and which flag decided each. */
export interface LogSettings {
  level: LogLevel;
  levelFrom: string;
  /** True: pretty lines; false: JSON lines; undefined: pretty when stdout is a terminal. */
  pretty: boolean | undefined;
  prettyFrom: string;
}

/**
 * Level: `--log-level`, else `--zap-log-level` (a name, or an integer verbosity like `--v`),
 * else `--v`. Format: `--log-pretty`, else `--zap-encoder` (json or console), else `--zap-devel`.
 */
export function logSettings(flags: ParsedFlags): LogSettings {
  const v = flags.values;
  let level: LogLevel;
  let levelFrom: string;
  if (String(v['log-level']) !== '') {
    level = v['log-level'] as LogLevel;
    levelFrom = 'log-level';
  } else if (String(v['zap-log-level']) !== '') {
    level = zapLevel(String(v['zap-log-level']));
    levelFrom = 'zap-log-level';
  } else {
    level = levelFromVerbosity(Number(v.v));
    levelFrom = 'v';
  }
  let pretty: boolean | undefined;
  let prettyFrom = 'terminal';
  if (flags.given.has('log-pretty') && v['log-pretty'] !== 'auto') {
    pretty = v['log-pretty'] === 'true';
    prettyFrom = 'log-pretty';
  } else if (flags.given.has('zap-encoder') && v['zap-encoder'] !== '') {
    pretty = v['zap-encoder'] === 'console';
    prettyFrom = 'zap-encoder';
  } else if (flags.given.has('zap-devel')) {
    pretty = v['zap-devel'] === true;
    prettyFrom = 'zap-devel';
  }
  return { level, levelFrom, pretty, prettyFrom };
}

function zapLevel(text: string): LogLevel {
  const named = ZAP_LEVELS[text.toLowerCase()];
  if (named !== undefined) return named;
  const n = Number(text);
  if (/^\d+$/.test(text) && n > 0) return levelFromVerbosity(n);
  throw sbError('SB_ERR_FLAG', 'zap-log-level', `must be debug, info, warn, error, dpanic, panic, fatal or an integer > 0, got "${text}"`);
}
