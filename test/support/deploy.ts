/**
 * Helpers for checking deploy/: reading every YAML document, validating custom resources against
 * the CRDs' OpenAPI schemas (with Ajv) and their CEL rules (by a JavaScript twin of each rule),
 * and invariants of the kinds we ship.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEPLOY = join(ROOT, 'deploy');

/** A parsed YAML document and where it came from. */
export interface Doc {
  file: string;
  index: number;
  obj: Record<string, unknown>;
}

/** YAML files under `dir` (relative to deploy/), excluding Helm templates (Go templates, not YAML). */
export function yamlFiles(dir = DEPLOY): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) {
        if (relative(DEPLOY, p) !== join('helm', 'switchboard', 'templates')) walk(p);
      } else if (/\.ya?ml$/.test(f)) out.push(relative(DEPLOY, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** Every document of a YAML file; throws with the file name on a syntax error. */
export function readDocs(file: string): Doc[] {
  const text = readFileSync(join(DEPLOY, file), 'utf8');
  return parseAllDocuments(text).flatMap((d, index) => {
    if (d.errors.length > 0) throw new Error(`${file}[${index}]: ${d.errors[0].message}`);
    const obj = d.toJS() as Record<string, unknown> | null;
    return obj === null ? [] : [{ file, index, obj }];
  });
}

/** Whether a document is a Kubernetes object (vs. kustomization, chart metadata, Helm values). */
export function isKubeObject(o: Record<string, unknown>): boolean {
  return typeof o.apiVersion === 'string' && typeof o.kind === 'string' && o.kind !== 'Kustomization';
}

type Json = Record<string, unknown>;

/**
 * JavaScript twins of the CEL rules our CRDs carry. A rule missing here fails the test that
 * walks the CRDs, so a new rule cannot go unchecked.
 */
export const CEL_RULES: Record<string, (self: unknown) => boolean> = {
  'self.all(p1, self.exists_one(p2, p1.number == p2.number))': (s) => {
    const nums = (s as Array<{ number: number }>).map((p) => p.number);
    return new Set(nums).size === nums.length;
  },
  "(has(self.kind) && self.kind != 'Service') || has(self.port)": (s) => {
    const o = s as { kind?: string; port?: unknown };
    // The API server applies the default (Service) before evaluating.
    return (o.kind ?? 'Service') !== 'Service' || o.port !== undefined;
  },
};

/** Collects CEL rule failures by walking `schema` and `value` together. */
function celErrors(schema: Json | undefined, value: unknown, path: string, out: string[]): void {
  if (schema === undefined || value === undefined || value === null) return;
  for (const v of (schema['x-kubernetes-validations'] as Array<{ rule: string; message?: string }> | undefined) ?? []) {
    const twin = CEL_RULES[v.rule];
    if (twin === undefined) throw new Error(`no JavaScript twin for CEL rule "${v.rule}" (add it to CEL_RULES)`);
    if (!twin(value)) out.push(`${path}: ${v.message ?? v.rule}`);
  }
  if (Array.isArray(value)) value.forEach((x, i) => celErrors(schema.items as Json | undefined, x, `${path}[${i}]`, out));
  else if (typeof value === 'object') {
    const props = (schema.properties as Record<string, Json> | undefined) ?? {};
    for (const [k, x] of Object.entries(value as Json)) celErrors(props[k] ?? (schema.additionalProperties as Json | undefined), x, `${path}.${k}`, out);
  }
}

/** Validates custom resources against the CRDs in deploy/crds. */
export class CrdValidator {
  private readonly byKey = new Map<string, { validate: ValidateFunction; schema: Json }>();
  readonly crds: Json[];

  constructor() {
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    this.crds = yamlFiles(join(DEPLOY, 'crds')).flatMap((f) => readDocs(f).map((d) => d.obj));
    for (const crd of this.crds) {
      const spec = crd.spec as { group: string; names: { kind: string }; versions: Array<{ name: string; schema: { openAPIV3Schema: Json } }> };
      for (const v of spec.versions)
        this.byKey.set(`${spec.group}/${v.name}/${spec.names.kind}`, { validate: ajv.compile(v.schema.openAPIV3Schema), schema: v.schema.openAPIV3Schema });
    }
  }

  /** Whether a CRD in deploy/crds defines `apiVersion`/`kind`. */
  knows(obj: Json): boolean {
    return this.byKey.has(`${String(obj.apiVersion)}/${String(obj.kind)}`);
  }

  /** Schema and CEL errors of `obj` (empty when valid). */
  errors(obj: Json): string[] {
    const entry = this.byKey.get(`${String(obj.apiVersion)}/${String(obj.kind)}`);
    if (entry === undefined) return [`no CRD for ${String(obj.apiVersion)} ${String(obj.kind)}`];
    const out: string[] = [];
    if (!entry.validate(structuredClone(obj))) for (const e of entry.validate.errors ?? []) out.push(`${e.instancePath || '/'} ${e.message ?? ''}`);
    celErrors(entry.schema, obj, '', out);
    return out;
  }
}

/** Reads `a.b.c` from an object. */
export function at(o: unknown, path: string): unknown {
  let cur = o;
  for (const k of path.split('.')) cur = cur === null || cur === undefined ? undefined : (cur as Json)[k];
  return cur;
}
