/**
 * Loads and validates an EndpointPickerConfig (YAML or JSON). Decoding is strict like the Go
 * EPP's: unknown top-level fields, wrong types, duplicate plugin names and dangling references
 * are errors that name the field and the reason. Plugin parameters are validated later by each
 * plugin's factory.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { sbError } from '../errors.js';
import { parseFlowControl, parsePromptGuards, parseTokenBudgets } from './admission-sections.js';
import { Validator } from './validator.js';
import type {
  EndpointPickerConfig,
  ModelRewriteSpec,
  ObjectiveSpec,
  PluginSpec,
  ProfilePluginRef,
  SchedulingProfileSpec,
  StaticEndpointSpec,
} from './types.js';

export const CONFIG_API_VERSION = 'inference.networking.x-k8s.io/v1alpha1';
export const CONFIG_KIND = 'EndpointPickerConfig';
const KNOWN_FEATURE_GATES = new Set(['flowControl', 'enableLegacyMetrics', 'dataLayer', 'prepareDataPlugins']);

const TOP_LEVEL = new Set([
  'apiVersion',
  'kind',
  'featureGates',
  'plugins',
  'schedulingProfiles',
  'saturationDetector',
  'dataLayer',
  'data',
  'flowControl',
  'parser',
  'endpoints',
  'objectives',
  'modelRewrites',
  'promptGuards',
  'tokenBudgets',
]);

/** Reads and validates the config at `path`. */
export function loadConfigFile(path: string): EndpointPickerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw sbError('SB_ERR_CONFIG', path, (err as Error).message);
  }
  return parseConfig(text, path);
}

/** Parses and validates config text; `source` names it in errors. */
export function parseConfig(text: string, source = 'config'): EndpointPickerConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    throw sbError('SB_ERR_CONFIG', source, `not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateConfig(doc ?? {}, source);
}

/** Validates an already-decoded config document. */
export function validateConfig(doc: unknown, source = 'config'): EndpointPickerConfig {
  const v: Validator = new Validator(source);
  const root = v.object(doc, '');
  for (const k of Object.keys(root)) if (!TOP_LEVEL.has(k)) v.fail(k, 'unknown field');

  const apiVersion = v.optString(root.apiVersion, 'apiVersion') ?? CONFIG_API_VERSION;
  if (apiVersion !== CONFIG_API_VERSION) v.fail('apiVersion', `must be ${CONFIG_API_VERSION}, got "${apiVersion}"`);
  const kind = v.optString(root.kind, 'kind') ?? CONFIG_KIND;
  if (kind !== CONFIG_KIND) v.fail('kind', `must be ${CONFIG_KIND}, got "${kind}"`);

  const featureGates = v.stringList(root.featureGates, 'featureGates');
  for (const g of featureGates) if (!KNOWN_FEATURE_GATES.has(g)) v.fail('featureGates', `unknown feature gate "${g}"`);

  const plugins: PluginSpec[] = v.list(root.plugins, 'plugins').map((raw, i) => {
    const at = `plugins[${i}]`;
    const o = v.object(raw, at);
    v.only(o, at, ['type', 'name', 'parameters']);
    const type = v.string(o.type, `${at}.type`);
    const name = v.optString(o.name, `${at}.name`) ?? type;
    const parameters = o.parameters === undefined || o.parameters === null ? {} : v.object(o.parameters, `${at}.parameters`);
    return { type, name, parameters };
  });
  const names = new Set<string>();
  plugins.forEach((p, i) => {
    if (names.has(p.name)) v.fail(`plugins[${i}].name`, `duplicate plugin name "${p.name}"`);
    names.add(p.name);
  });

  const schedulingProfiles: SchedulingProfileSpec[] = v.list(root.schedulingProfiles, 'schedulingProfiles').map((raw, i) => {
    const at = `schedulingProfiles[${i}]`;
    const o = v.object(raw, at);
    v.only(o, at, ['name', 'plugins']);
    const name = v.string(o.name, `${at}.name`);
    const refs: ProfilePluginRef[] = v.list(o.plugins, `${at}.plugins`).map((r, j) => {
      const rat = `${at}.plugins[${j}]`;
      const ro = v.object(r, rat);
      v.only(ro, rat, ['pluginRef', 'weight']);
      const pluginRef = v.string(ro.pluginRef, `${rat}.pluginRef`);
      if (!names.has(pluginRef)) v.fail(`${rat}.pluginRef`, `no plugin named "${pluginRef}"`);
      let weight: number | null = null;
      if (ro.weight !== undefined && ro.weight !== null) {
        if (typeof ro.weight !== 'number' || !Number.isFinite(ro.weight)) v.fail(`${rat}.weight`, 'must be a number');
        if (ro.weight < 0) v.fail(`${rat}.weight`, `must not be negative, got ${ro.weight}`);
        weight = ro.weight;
      }
      return { pluginRef, weight };
    });
    return { name, plugins: refs };
  });
  const profileNames = new Set<string>();
  schedulingProfiles.forEach((p, i) => {
    if (profileNames.has(p.name)) v.fail(`schedulingProfiles[${i}].name`, `duplicate profile name "${p.name}"`);
    profileNames.add(p.name);
  });

  const ref = (val: unknown, at: string): string | null => {
    if (val === undefined || val === null) return null;
    const o = v.object(val, at);
    v.only(o, at, ['pluginRef']);
    const r = v.string(o.pluginRef, `${at}.pluginRef`);
    if (!names.has(r)) v.fail(`${at}.pluginRef`, `no plugin named "${r}"`);
    return r;
  };
  const saturationDetector = ref(root.saturationDetector, 'saturationDetector');
  const parser = ref(root.parser, 'parser');

  // The Go tag is `dataLayer`; the site docs say `data`. Accept both, not both at once.
  if (root.dataLayer !== undefined && root.data !== undefined) v.fail('data', 'use either dataLayer or data, not both');
  const dlKey = root.dataLayer !== undefined ? 'dataLayer' : 'data';
  const dataLayer: EndpointPickerConfig['dataLayer'] = [];
  const dl = root[dlKey];
  if (dl !== undefined && dl !== null) {
    const o = v.object(dl, dlKey);
    v.only(o, dlKey, ['sources']);
    v.list(o.sources, `${dlKey}.sources`).forEach((s, i) => {
      const at = `${dlKey}.sources[${i}]`;
      const so = v.object(s, at);
      v.only(so, at, ['pluginRef', 'extractors']);
      const pluginRef = v.string(so.pluginRef, `${at}.pluginRef`);
      if (!names.has(pluginRef)) v.fail(`${at}.pluginRef`, `no plugin named "${pluginRef}"`);
      const extractors = v.list(so.extractors, `${at}.extractors`).map((e, j) => ref(e, `${at}.extractors[${j}]`) as string);
      dataLayer.push({ pluginRef, extractors });
    });
  }

  const flowControl = parseFlowControl(root.flowControl, plugins, v);
  const promptGuards = parsePromptGuards(root.promptGuards, v);
  const tokenBudgets = parseTokenBudgets(root.tokenBudgets, v);

  const endpoints = v.list(root.endpoints, 'endpoints').map((e, i) => parseStaticEndpoint(e, `endpoints[${i}]`, v));
  const seenEndpoints = new Set<string>();
  endpoints.forEach((e, i) => {
    const key = `${e.address}:${e.port}`;
    if (seenEndpoints.has(key)) v.fail(`endpoints[${i}]`, `duplicate endpoint ${key}`);
    seenEndpoints.add(key);
  });

  const objectives: ObjectiveSpec[] = v.list(root.objectives, 'objectives').map((o, i) => {
    const at = `objectives[${i}]`;
    const oo = v.object(o, at);
    v.only(oo, at, ['name', 'priority']);
    const priority = oo.priority === undefined || oo.priority === null ? 0 : oo.priority;
    if (typeof priority !== 'number' || !Number.isInteger(priority)) v.fail(`${at}.priority`, 'must be an integer');
    return { name: v.string(oo.name, `${at}.name`), priority };
  });

  const modelRewrites: ModelRewriteSpec[] = v.list(root.modelRewrites, 'modelRewrites').map((r, i) => {
    const at = `modelRewrites[${i}]`;
    const ro = v.object(r, at);
    v.only(ro, at, ['name', 'model', 'targets']);
    const targets = v.list(ro.targets, `${at}.targets`).map((t, j) => {
      const tat = `${at}.targets[${j}]`;
      const to = v.object(t, tat);
      v.only(to, tat, ['model', 'weight']);
      const weight = to.weight === undefined || to.weight === null ? 0 : to.weight;
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) v.fail(`${tat}.weight`, 'must be a number >= 0');
      return { model: v.string(to.model, `${tat}.model`), weight };
    });
    if (targets.length === 0) v.fail(`${at}.targets`, 'needs at least one target');
    const model = v.string(ro.model, `${at}.model`);
    return { name: v.optString(ro.name, `${at}.name`) ?? model, model, targets };
  });

  return {
    apiVersion,
    kind,
    featureGates,
    plugins,
    schedulingProfiles,
    saturationDetector,
    dataLayer,
    flowControl,
    parser,
    endpoints,
    objectives,
    modelRewrites,
    promptGuards,
    tokenBudgets,
  };
}

/** Parses `ip:port`, `[v6]:port`, or `{address, port, name?, labels?, metricsPort?}`. */
export function parseStaticEndpoint(raw: unknown, at: string, v: Validator = new Validator("endpoints")): StaticEndpointSpec {
  if (typeof raw === 'string') {
    const hp = parseHostPort(raw);
    if (hp === null) v.fail(at, `must be "host:port", got "${raw}"`);
    return hp;
  }
  const o = v.object(raw, at);
  v.only(o, at, ['address', 'port', 'name', 'labels', 'metricsPort']);
  const address = v.string(o.address, `${at}.address`);
  const port = v.port(o.port, `${at}.port`);
  const out: StaticEndpointSpec = { address, port };
  const name = v.optString(o.name, `${at}.name`);
  if (name !== null) out.name = name;
  if (o.labels !== undefined && o.labels !== null) {
    const labels = v.object(o.labels, `${at}.labels`);
    for (const [k, val] of Object.entries(labels)) if (typeof val !== 'string') v.fail(`${at}.labels.${k}`, 'must be a string');
    out.labels = labels as Record<string, string>;
  }
  if (o.metricsPort !== undefined && o.metricsPort !== null) out.metricsPort = v.port(o.metricsPort, `${at}.metricsPort`);
  return out;
}

/** Splits `host:port` / `[v6]:port`; null when malformed. */
export function parseHostPort(s: string): StaticEndpointSpec | null {
  const m = /^\s*(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})\s*$/.exec(s);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { address: m[1] ?? m[2], port };
}

