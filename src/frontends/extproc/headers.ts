/**
 * Header access over a decoded `HeaderMap` without copying it into a JS object: the director
 * reads only a handful of headers per request, so a linear scan beats building a map.
 */
import { isSystemOwnedHeader, type HeaderSource } from '../../request/headers.js';
import { bytesOf, type HeaderMap, type HeaderValue, type HeaderValueOption } from './messages.js';
import { DEFAULT_API_PATH, PATH_HEADERS } from './protocol.js';

const NO_HEADERS: readonly HeaderValue[] = [];

/** The value of one entry: `raw_value` (what Envoy sends) when set, else the legacy `value`. */
export function headerValueText(entry: HeaderValue): string {
  const raw = entry.rawValue;
  if (raw !== undefined && raw !== null && raw.length > 0) return bytesOf(raw).toString('utf8');
  return entry.value ?? '';
}

/** Lower-cased lookup over the entries Envoy sent (keys arrive lower-cased; others are folded). */
export class ProtoHeaders implements HeaderSource {
  readonly entries: readonly HeaderValue[];

  constructor(map: HeaderMap | null | undefined) {
    const entries = map?.headers ?? NO_HEADERS;
    for (const entry of entries) {
      // Envoy lower-cases keys; fold anything else once so lookups stay a plain comparison.
      const key = entry.key;
      if (typeof key === 'string') {
        const lower = key.toLowerCase();
        if (lower !== key) entry.key = lower;
      } else {
        entry.key = '';
      }
    }
    this.entries = entries;
  }

  /** First value of `name` (lower-case), or undefined. */
  get(name: string): string | undefined {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      if (entries[i].key === name) return headerValueText(entries[i]);
    }
    return undefined;
  }

  /** Distinct names the client sent that start with the system prefix; null when none (the usual case). */
  systemHeaderNames(): string[] | null {
    let names: string[] | null = null;
    for (const entry of this.entries) {
      if (isSystemOwnedHeader(entry.key)) {
        names ??= [];
        if (!names.includes(entry.key)) names.push(entry.key);
      }
    }
    return names;
  }

  /** The request path without its query, from `:path` or the reference EPP's fallbacks. */
  requestPath(): string {
    for (const name of PATH_HEADERS) {
      const value = this.get(name);
      if (value !== undefined && value !== '') {
        const q = value.indexOf('?');
        return q === -1 ? value : value.slice(0, q);
      }
    }
    return DEFAULT_API_PATH;
  }
}

/** A header mutation entry carrying `value` in `raw_value` only (Envoy ignores or rejects `value`). */
export function rawHeader(key: string, value: string): HeaderValueOption {
  return { header: { key, rawValue: Buffer.from(value, 'utf8') } };
}
