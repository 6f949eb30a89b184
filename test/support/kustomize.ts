/**
 * The part of kustomize our overlays use, so tests check what `kubectl apply -k` would send:
 * `resources` (files and directories with a kustomization.yaml) and `patches` of JSON 6902
 * operations (add, replace, remove) on targets chosen by kind and name. Anything else throws.
 */
import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEPLOY, isKubeObject, readDocs } from './deploy.js';

type Json = Record<string, unknown>;
interface Op {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

/** Applies JSON patch operations (RFC 6902 subset) to a copy of `doc`. */
export function applyJsonPatch(doc: Json, ops: Op[]): Json {
  const out = structuredClone(doc);
  for (const o of ops) {
    const keys = o.path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop()!;
    let parent: unknown = out;
    for (const k of keys) {
      parent = Array.isArray(parent) ? parent[Number(k)] : (parent as Json)[k];
      if (parent === undefined || parent === null) throw new Error(`${o.op} ${o.path}: no parent`);
    }
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (o.op === 'add') parent.splice(i, 0, o.value);
      else if (o.op === 'replace') parent[i] = o.value;
      else parent.splice(i, 1);
    } else {
      const p = parent as Json;
      // RFC 6902: replace and remove need the member to exist; add creates or overwrites it.
      if (o.op !== 'add' && !(last in p)) throw new Error(`${o.op} ${o.path}: no such member`);
      if (o.op === 'remove') delete p[last];
      else p[last] = o.value;
    }
  }
  return out;
}

/** The objects a kustomization directory (relative to deploy/) renders. */
export function kustomize(dir: string): Json[] {
  const kfile = join(dir, 'kustomization.yaml');
  const k = readDocs(kfile)[0].obj as { resources?: string[]; patches?: Array<{ target: { kind: string; name: string }; patch: string }> };
  for (const key of Object.keys(k)) if (!['apiVersion', 'kind', 'resources', 'patches'].includes(key)) throw new Error(`${kfile}: unsupported field ${key}`);
  let objs: Json[] = [];
  for (const r of k.resources ?? []) {
    const abs = join(DEPLOY, dir, r);
    if (!existsSync(abs)) throw new Error(`${kfile}: missing resource ${r}`);
    if (statSync(abs).isDirectory()) objs.push(...kustomize(relative(DEPLOY, abs)));
    else objs.push(...readDocs(relative(DEPLOY, abs)).map((d) => d.obj).filter(isKubeObject));
  }
  for (const p of k.patches ?? []) {
    const ops = parseYaml(p.patch) as Op[];
    let hit = 0;
    objs = objs.map((o) => {
      if (o.kind !== p.target.kind || (o.metadata as Json).name !== p.target.name) return o;
      hit++;
      return applyJsonPatch(o, ops);
    });
    if (hit === 0) throw new Error(`${kfile}: patch target ${p.target.kind}/${p.target.name} not found`);
  }
  return objs;
}

/** RFC 7386 JSON merge patch: null deletes a member, objects merge, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Json = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
