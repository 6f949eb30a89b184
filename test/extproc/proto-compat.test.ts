/**
 * Wire compatibility with Envoy: our proto/ definitions against Envoy's upstream ext_proc protos
 * as shipped in @grpc/grpc-js-xds (an older API version, without FULL_DUPLEX_STREAMED).
 *
 * 1. Schema: every message reachable from ProcessingRequest/ProcessingResponse in Envoy's protos
 *    exists in ours with every field at the same number, type and label, and every enum value
 *    at the same number.
 * 2. Bytes: messages that set every field both schemas know (each oneof member in turn) encode
 *    to identical bytes, and each side decodes the other's bytes and re-encodes them unchanged.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { extProcRoot } from '../../src/frontends/extproc/codec.js';

const require = createRequire(import.meta.url);
const depsDir = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const includeDirs = [
  ...['envoy-api', 'xds', 'protoc-gen-validate', 'googleapis'].map((d) => join(depsDir, d)),
  // descriptor.proto (imported by the annotation protos) ships as a file with protobufjs.
  dirname(require.resolve('protobufjs/package.json')),
];

function loadEnvoyRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const { existsSync } = require('node:fs') as typeof import('node:fs');
  root.resolvePath = (_origin, target) => {
    if (target.startsWith('google/protobuf/') && target in protobuf.common) return target;
    for (const dir of includeDirs) {
      const p = join(dir, target);
      if (existsSync(p)) return p;
    }
    return target;
  };
  root.loadSync('envoy/service/ext_proc/v3/external_processor.proto', { keepCase: false });
  root.resolveAll();
  return root;
}

const envoy = loadEnvoyRoot();
const ours = extProcRoot;

/** Message types reachable from the two top-level messages in Envoy's schema. */
function reachable(root: protobuf.Root, names: string[]): protobuf.Type[] {
  const seen = new Map<string, protobuf.Type>();
  const visit = (t: protobuf.Type) => {
    const name = t.fullName;
    if (seen.has(name)) return;
    seen.set(name, t);
    for (const f of t.fieldsArray) if (f.resolvedType instanceof protobuf.Type) visit(f.resolvedType);
  };
  for (const n of names) visit(root.lookupType(n));
  return [...seen.values()];
}

const TOP = ['envoy.service.ext_proc.v3.ProcessingRequest', 'envoy.service.ext_proc.v3.ProcessingResponse'];

describe('ext_proc schema matches Envoy upstream', () => {
  const envoyTypes = reachable(envoy, TOP);

  it('covers a meaningful part of the API', () => {
    expect(envoyTypes.length).toBeGreaterThanOrEqual(20);
  });

  it.each(envoyTypes.map((t) => [t.fullName, t] as const))('%s: same fields, numbers, types and labels', (_name, theirs) => {
    const mine = ours.lookupType(theirs.fullName);
    for (const f of theirs.fieldsArray) {
      const g = mine.fields[f.name];
      expect(g, `${theirs.fullName}.${f.name}`).toBeDefined();
      expect(g.id).toBe(f.id);
      expect(g.repeated).toBe(f.repeated);
      expect(g.map).toBe(f.map);
      expect(g.resolvedType?.fullName ?? g.type).toBe(f.resolvedType?.fullName ?? f.type);
      if (f.map) expect((g as unknown as protobuf.MapField).keyType).toBe((f as unknown as protobuf.MapField).keyType);
      expect(g.partOf?.name ?? null).toBe(f.partOf?.name ?? null);
    }
    // Fields only we know must not reuse a number Envoy gives to something else.
    for (const g of mine.fieldsArray) {
      const clash = theirs.fieldsArray.find((f) => f.id === g.id);
      if (clash) expect(clash.name).toBe(g.name);
    }
  });

  it('enums agree on every value Envoy defines', () => {
    const enums = new Map<string, protobuf.Enum>();
    for (const t of envoyTypes) for (const f of t.fieldsArray) if (f.resolvedType instanceof protobuf.Enum) enums.set(f.resolvedType.fullName, f.resolvedType);
    expect(enums.size).toBeGreaterThanOrEqual(4);
    for (const [name, theirs] of enums) {
      const mine = ours.lookupEnum(name);
      for (const [k, v] of Object.entries(theirs.values)) expect(mine.values[k], `${name}.${k}`).toBe(v);
    }
  });
});

/** A message of `type` with every field set; `variant` picks which member of each oneof is set. */
function sample(type: protobuf.Type, variant: number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const chosen = new Set<string>();
  for (const oneof of type.oneofsArray) {
    const members = oneof.fieldsArray;
    chosen.add(members[variant % members.length].name);
  }
  for (const f of type.fieldsArray) {
    if (f.partOf && !chosen.has(f.name)) continue;
    const v = fieldValue(f, variant, depth);
    if (v !== undefined) out[f.name] = v;
  }
  return out;
}

function scalar(f: protobuf.Field, variant: number): unknown {
  switch (f.type) {
    case 'string':
      return `${f.name}-${variant}-ü`;
    case 'bytes':
      return Buffer.from([0, 1, 0xfe, 0xff, variant]);
    case 'bool':
      return true;
    case 'double':
    case 'float':
      return 1.5 + variant;
    default:
      return 7 + variant; // integer types (uint32, int32, int64 as a safe number)
  }
}

function fieldValue(f: protobuf.Field, variant: number, depth: number): unknown {
  const t = f.resolvedType;
  let one: () => unknown;
  if (t instanceof protobuf.Type) {
    if (depth >= 4) return undefined; // Struct/Value recurse; four levels cover every field
    one = () => sample(t, variant, depth + 1);
  } else if (t instanceof protobuf.Enum) {
    const values = Object.values(t.values).filter((v) => v !== 0);
    one = () => values[variant % values.length] ?? 0;
  } else {
    one = () => scalar(f, variant);
  }
  if (f.map) return { [`key-${variant}`]: one(), 'envoy.lb': one() };
  if (f.repeated) return [one(), one()];
  return one();
}

describe('ext_proc bytes match Envoy upstream', () => {
  for (const name of TOP) {
    const theirs = envoy.lookupType(name);
    const mine = ours.lookupType(name);
    const variants = Math.max(...reachable(envoy, [name]).flatMap((t) => t.oneofsArray.map((o) => o.fieldsArray.length)));

    it(`${name}: every oneof member, every field, both directions`, () => {
      for (let v = 0; v < variants; v++) {
        const msg = sample(theirs, v);
        const envoyBytes = Buffer.from(theirs.encode(msg).finish());
        const ourBytes = Buffer.from(mine.encode(msg).finish());
        expect(ourBytes.equals(envoyBytes), `variant ${v} encodes identically`).toBe(true);
        expect(Buffer.from(mine.encode(mine.decode(envoyBytes)).finish()).equals(envoyBytes)).toBe(true);
        expect(Buffer.from(theirs.encode(theirs.decode(ourBytes)).finish()).equals(ourBytes)).toBe(true);
        expect(envoyBytes.length).toBeGreaterThan(20);
      }
    });
  }

  it('an older Envoy skips the fields it does not know (protocol_config, streamed_response)', () => {
    const req = ours.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
    const bytes = req.encode({ requestHeaders: { endOfStream: true }, protocolConfig: { requestBodyMode: 4, responseBodyMode: 4 } }).finish();
    const decoded = envoy.lookupType('envoy.service.ext_proc.v3.ProcessingRequest').decode(bytes) as unknown as {
      requestHeaders: { endOfStream: boolean };
    };
    expect(decoded.requestHeaders.endOfStream).toBe(true);
    const res = ours.lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
    const rb = res.encode({ requestBody: { response: { bodyMutation: { streamedResponse: { body: Buffer.from('x'), endOfStream: true } } } } }).finish();
    const old = envoy.lookupType('envoy.service.ext_proc.v3.ProcessingResponse').decode(rb) as unknown as {
      requestBody: { response: { bodyMutation: { body?: unknown; clearBody?: unknown } } };
    };
    expect(old.requestBody.response.bodyMutation).toBeTruthy();
  });
});
