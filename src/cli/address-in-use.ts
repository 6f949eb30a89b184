/**
 * Turns "address already in use" from any listener the CLI opens into an error that names the
 * flag to change, e.g. `address 127.0.0.1:9002 in use: change --grpc-port`.
 */
import { sbError } from '../errors.js';

/** True for EADDRINUSE from node:net (code) or from grpc-js (only in the message). */
export function isAddressInUse(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown };
  return e.code === 'EADDRINUSE' || (typeof e.message === 'string' && e.message.includes('EADDRINUSE'));
}

/** `host:port`, with IPv6 hosts bracketed. */
export function formatAddress(host: string, port: number | string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Runs `start`; if it fails because the address is taken, throws SB_ERR_ADDRESS_IN_USE naming
 * the address and the flag (`flag` may depend on the error, as for the two ext_proc ports).
 */
export async function naming<T>(start: () => Promise<T>, address: string, flag: string | ((err: unknown) => string)): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (!isAddressInUse(err)) throw err;
    throw sbError('SB_ERR_ADDRESS_IN_USE', failedAddress(err) ?? address, typeof flag === 'string' ? flag : flag(err));
  }
}

/** The address that was taken: node:net errors carry `address` and `port`; the ext_proc server tags `bindAddress`. */
function failedAddress(err: unknown): string | null {
  const e = err as { address?: unknown; port?: unknown; bindAddress?: unknown };
  if (typeof e.bindAddress === 'string') return e.bindAddress;
  if (typeof e.address === 'string' && typeof e.port === 'number') return formatAddress(e.address, e.port);
  return null;
}
