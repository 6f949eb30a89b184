/** Reading and writing the dynamic metadata of the Endpoint Picker Protocol. */
import type { Metadata, ProtoStruct, ProtoValue } from './messages.js';
import {
  DESTINATION_ENDPOINT as DESTINATION_KEY,
  DESTINATION_ENDPOINT_SERVED as DESTINATION_SERVED_KEY,
  DESTINATION_ENDPOINT_SUBSET as SUBSET_KEY,
  DESTINATION_NAMESPACE,
  SUBSET_NAMESPACE,
} from '../../request/headers.js';

function field(meta: Metadata | null | undefined, namespace: string, key: string): ProtoValue | undefined {
  const ns = meta?.filterMetadata?.[namespace];
  if (ns === undefined || ns === null) return undefined;
  const fields = ns.fields;
  if (fields === undefined || !Object.prototype.hasOwnProperty.call(fields, key)) return undefined;
  return fields[key];
}

function pushEntries(out: string[], text: string): void {
  for (const part of text.split(',')) {
    const entry = part.trim();
    if (entry !== '') out.push(entry);
  }
}

/**
 * The gateway's subset hint: null when absent (pick from the whole pool), else the listed
 * `ip[:port]` entries (possibly none, which must yield 503). Accepts a ListValue of strings
 * (the protocol) and a comma-separated string (as GIE's lightweight EPP does).
 */
export function subsetHint(meta: Metadata | null | undefined): string[] | null {
  const value = field(meta, SUBSET_NAMESPACE, SUBSET_KEY);
  if (value === undefined) return null;
  const out: string[] = [];
  const list = value.listValue;
  if (list !== undefined && list !== null) {
    for (const item of list.values ?? []) {
      if (typeof item.stringValue === 'string') pushEntries(out, item.stringValue);
    }
  } else if (typeof value.stringValue === 'string') {
    pushEntries(out, value.stringValue);
  }
  return out;
}

/** The endpoint the gateway reports as having served the request, or null. */
export function servedEndpoint(meta: Metadata | null | undefined): string | null {
  const value = field(meta, DESTINATION_NAMESPACE, DESTINATION_SERVED_KEY);
  if (value === undefined) return null;
  if (typeof value.stringValue === 'string' && value.stringValue !== '') return value.stringValue;
  // Tolerate a list (first entry), as Envoy's ORIGINAL_DST does for list-valued metadata.
  const first = value.listValue?.values?.[0]?.stringValue;
  return typeof first === 'string' && first !== '' ? first : null;
}

/** `{"envoy.lb": {"x-gateway-destination-endpoint": destination}}`, equal to the routing header. */
export function destinationMetadata(destination: string): ProtoStruct {
  return {
    fields: {
      [DESTINATION_NAMESPACE]: {
        structValue: { fields: { [DESTINATION_KEY]: { stringValue: destination } } },
      },
    },
  };
}
