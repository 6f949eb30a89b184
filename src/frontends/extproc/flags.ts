/**
 * Command-line flags of the ext_proc front door, as a table the CLI merges into `switchboard
 * serve` (names and defaults follow the Go EPP where it has the flag), and their conversion
 * into `ExtProcServerOptions`.
 */
import { sbError } from '../../errors.js';
import { BodySendMode, type BodySendModeValue } from './messages.js';

/** One flag: Go-style `--name=value` / `--name value`; bools also accept bare `--name`. */
export interface ExtProcFlagSpec {
  name: string;
  type: 'int' | 'bool' | 'string';
  default: number | boolean | string;
  help: string;
}

/** Default for `--max-body-bytes`: 32 MiB, room for very long prompts and inline images. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

/** The front door's flags. */
export const extProcFlagSpecs: readonly ExtProcFlagSpec[] = [
  { name: 'grpc-port', type: 'int', default: 9002, help: 'Port of the ext_proc gRPC server.' },
  { name: 'grpc-health-port', type: 'int', default: 9003, help: 'Port of the plaintext gRPC health server.' },
  {
    name: 'secure-serving',
    type: 'bool',
    default: true,
    help: 'Serve ext_proc over TLS (self-signed certificate unless --cert-path is set).',
  },
  {
    name: 'cert-path',
    type: 'string',
    default: '',
    help: 'Folder with tls.crt and tls.key for ext_proc TLS; reloaded when the files change.',
  },
  {
    name: 'default-body-mode',
    type: 'string',
    default: 'FULL_DUPLEX_STREAMED',
    help: 'Body mode assumed when the gateway sends no protocol_config (Envoy < 1.34): FULL_DUPLEX_STREAMED or BUFFERED.',
  },
  {
    name: 'max-body-bytes',
    type: 'int',
    default: DEFAULT_MAX_BODY_BYTES,
    help: 'Largest request body accepted over ext_proc; larger bodies get 413.',
  },
  {
    name: 'disable-endpoint-subset-filter',
    type: 'bool',
    default: false,
    help: 'Ignore the gateway subset hint (envoy.lb.subset_hint) and pick from the whole pool.',
  },
];

/** Parses a body mode name (Envoy's enum names, case-insensitive, `-` or `_`). */
export function parseBodyMode(text: string): BodySendModeValue {
  const key = text.trim().toUpperCase().replace(/-/g, '_');
  if (key === 'FULL_DUPLEX_STREAMED' || key === 'BUFFERED') return BodySendMode[key];
  throw sbError('SB_ERR_FLAG', 'default-body-mode', `"${text}" is not FULL_DUPLEX_STREAMED or BUFFERED`);
}

/** The options the flags set, from parsed flag values keyed by flag name. */
export function extProcOptionsFromFlags(values: Readonly<Record<string, unknown>>): {
  port: number;
  healthPort: number;
  secure: boolean;
  certPath: string | null;
  defaultBodyMode: BodySendModeValue;
  maxBodyBytes: number;
  honorSubsetHint: boolean;
} {
  const get = (name: string): unknown => values[name] ?? extProcFlagSpecs.find((f) => f.name === name)!.default;
  const port = (name: string): number => {
    const n = Number(get(name));
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw sbError('SB_ERR_FLAG', name, `"${String(get(name))}" is not a port`);
    return n;
  };
  const maxBodyBytes = Number(get('max-body-bytes'));
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw sbError('SB_ERR_FLAG', 'max-body-bytes', `"${String(get('max-body-bytes'))}" is not a positive integer`);
  }
  const certPath = String(get('cert-path'));
  return {
    port: port('grpc-port'),
    healthPort: port('grpc-health-port'),
    secure: get('secure-serving') === true || get('secure-serving') === 'true',
    certPath: certPath === '' ? null : certPath,
    defaultBodyMode: parseBodyMode(String(get('default-body-mode'))),
    maxBodyBytes,
    honorSubsetHint: !(get('disable-endpoint-subset-filter') === true || get('disable-endpoint-subset-filter') === 'true'),
  };
}
