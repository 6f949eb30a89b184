/**
 * The proxy's command-line flags as a table the CLI merges into `switchboard serve`, and the
 * function that turns their raw values into server options.
 */
import { sbError } from '../../errors.js';
import { DEFAULT_PROXY_SETTINGS, type ProxySettingsInput } from './options.js';

/** How a flag's raw text is read. */
export type ProxyFlagKind = 'int' | 'duration' | 'bool' | 'string';

/** One flag: name without dashes, kind, default (durations in ms) and help text. */
export interface ProxyFlagSpec {
  name: string;
  kind: ProxyFlagKind;
  default: number | boolean | string;
  usage: string;
}

const d = DEFAULT_PROXY_SETTINGS;

/** Every proxy flag, in help order. */
export const PROXY_FLAGS: readonly ProxyFlagSpec[] = [
  { name: 'proxy-port', kind: 'int', default: 8080, usage: 'port of the OpenAI-compatible proxy' },
  { name: 'proxy-host', kind: 'string', default: '0.0.0.0', usage: 'address the proxy listens on' },
  { name: 'proxy-retries', kind: 'int', default: d.retries.max, usage: 'extra attempts on other endpoints when a request fails before its response started' },
  { name: 'proxy-repick', kind: 'bool', default: d.retries.repick, usage: 'when fallback endpoints are used up, ask the scheduler for another pick' },
  { name: 'proxy-connect-timeout', kind: 'duration', default: d.timeouts.connectMs, usage: 'timeout of a TCP connect to a pod' },
  { name: 'proxy-first-byte-timeout', kind: 'duration', default: d.timeouts.firstByteMs, usage: 'timeout from sending a request to the pod answering' },
  { name: 'proxy-idle-stream-timeout', kind: 'duration', default: d.timeouts.idleStreamMs, usage: 'longest silence between two chunks of a response' },
  { name: 'proxy-max-body-bytes', kind: 'int', default: d.maxBodyBytes, usage: 'largest request body accepted (413 above it)' },
  { name: 'proxy-max-connections-per-endpoint', kind: 'int', default: d.pool.connectionsPerEndpoint, usage: 'keep-alive connections per pod at most' },
  { name: 'proxy-keepalive-timeout', kind: 'duration', default: d.pool.keepAliveMs, usage: 'how long an idle connection to a pod stays open' },
  { name: 'proxy-models-refresh', kind: 'duration', default: d.modelsRefreshMs, usage: 'how often /v1/models is refreshed from the pods' },
  { name: 'proxy-drain-timeout', kind: 'duration', default: d.drainTimeoutMs, usage: 'on shutdown, how long in-flight requests may finish' },
];

/** The proxy part of the parsed command line. */
export interface ProxyFlagValues {
  port: number;
  host: string;
  settings: ProxySettingsInput;
}

/**
 * Reads the proxy flags from `raw` (flag name -> text as typed, absent = default).
 * Throws SB_ERR_FLAG naming the flag for a bad value.
 */
export function proxyFlagValues(raw: Readonly<Record<string, string | undefined>>): ProxyFlagValues {
  const v = (name: string): number | boolean | string => {
    const spec = PROXY_FLAGS.find((f) => f.name === name);
    if (spec === undefined) throw new Error(`unknown proxy flag ${name}`);
    const text = raw[name];
    return text === undefined ? spec.default : parseFlag(spec, text);
  };
  const port = v('proxy-port') as number;
  if (port > 65535) throw sbError('SB_ERR_FLAG', 'proxy-port', `${port} is not a port`);
  return {
    port,
    host: v('proxy-host') as string,
    settings: {
      maxBodyBytes: v('proxy-max-body-bytes') as number,
      timeouts: {
        connectMs: v('proxy-connect-timeout') as number,
        firstByteMs: v('proxy-first-byte-timeout') as number,
        idleStreamMs: v('proxy-idle-stream-timeout') as number,
      },
      pool: {
        connectionsPerEndpoint: v('proxy-max-connections-per-endpoint') as number,
        keepAliveMs: v('proxy-keepalive-timeout') as number,
      },
      retries: { max: v('proxy-retries') as number, repick: v('proxy-repick') as boolean },
      modelsRefreshMs: v('proxy-models-refresh') as number,
      drainTimeoutMs: v('proxy-drain-timeout') as number,
    },
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses one flag value according to its kind. */
export function parseFlag(spec: ProxyFlagSpec, text: string): number | boolean | string {
  const bad = (why: string) => sbError('SB_ERR_FLAG', spec.name, `${JSON.stringify(text)} ${why}`);
  switch (spec.kind) {
    case 'string':
      return text;
    case 'bool':
      if (text === 'true' || text === '') return true;
      if (text === 'false') return false;
      throw bad('is not true or false');
    case 'int': {
      if (!/^\d+$/.test(text)) throw bad('is not a non-negative integer');
      const n = Number(text);
      if (!Number.isSafeInteger(n)) throw bad('is too large');
      return n;
    }
    case 'duration':
      return parseDurationMs(text) ?? (() => { throw bad('is not a duration like 500ms, 30s or 5m'); })();
  }
}

/** Go-style duration (`1m30s`, `250ms`; a bare number means ms) to milliseconds, or null. */
export function parseDurationMs(text: string): number | null {
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    end = re.lastIndex;
  }
  return end === text.length && end > 0 ? Math.round(total) : null;
}
