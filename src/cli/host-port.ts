/**
 * Checks `host:port` text from the command line and says what is wrong with it: a missing port,
 * a port outside 1-65535, or a host that is no IP address or DNS name. IPv6 hosts are bracketed.
 */
import { isIP } from 'node:net';

/** DNS name: labels of letters, digits and inner hyphens (underscores too, as Kubernetes names allow). */
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Null when `text` is a good host:port, else what is wrong with it. */
export function checkHostPort(text: string): string | null {
  const s = text.trim();
  let host: string;
  let port: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return `bad host in "${s}": unclosed [ of an IPv6 address`;
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest === '' || rest === ':') return `missing port in "${s}" (want host:port, e.g. [${host}]:8000)`;
    if (!rest.startsWith(':')) return `bad host in "${s}": unexpected "${rest}" after ]`;
    port = rest.slice(1);
    if (isIP(host) !== 6) return `bad host "${host}" in "${s}": not an IPv6 address`;
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0 || colon === s.length - 1) return `missing port in "${s}" (want host:port, e.g. 127.0.0.1:8000)`;
    host = s.slice(0, colon);
    port = s.slice(colon + 1);
    if (host.includes(':')) return `bad host "${host}" in "${s}": put an IPv6 address in brackets, e.g. [${host}]:${port}`;
    if (host === '') return `bad host in "${s}": the host is empty`;
    if (isIP(host) === 0 && (/^[\d.]+$/.test(host) || !DNS_NAME.test(host))) return `bad host "${host}" in "${s}": not an IP address or DNS name`;
  }
  if (!/^\d+$/.test(port)) return `bad port "${port}" in "${s}": not a number`;
  const n = Number(port);
  if (n < 1 || n > 65535) return `port out of range 1-65535 in "${s}": ${port}`;
  return null;
}
