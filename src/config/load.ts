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
import { parsePools, parseSpillover } from './pools.js';
import { defaultSchedulingDocument } from './default-scheduling.js';
import { kindOf, Validator } from './validator.js';
import { didYouMean } from '../util/nearest.js';
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
  'pools',
  'spillover',
]);

/** Reads and validates the config at `path`; errors name the file. */
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
    throw sbError('SB_ERR_CONFIG', source, `not valid YAML/JSON: ${yamlErrorText(err, text)}`);
  }
  return validateConfig(doc ?? {}, source);
}

/** The parser's first message line, then the offending line of the file with a caret under the column. */
function yamlErrorText(err: unknown, text: string): string {
  const e = err as Error & { linePos?: Array<{ line: number; col: number }> };
  const first = e.message.split('\n')[0];
  const pos = e.linePos?.[0];
  if (pos === undefined) return first;
  const line = text.split(/\r?\n/)[pos.line - 1] ?? '';
  const shown = line.length > 200 ? line.slice(0, 200) + '…' : line;
  return `${first}\n  ${pos.line} | ${shown}\n  ${' '.repeat(String(pos.line).length)} | ${' '.repeat(Math.max(0, Math.min(pos.col - 1, 200)))}^`;
}

/**
 * Validates an already-decoded config document. Every problem is collected and reported at once.
 * Sections the document does not name keep their defaults: without `plugins` and
 * `schedulingProfiles` the default scheduling applies (a file holding only `objectives`,
 * `endpoints` or nothing at all must not turn routing into tie-breaks).
 */
export function validateConfig(doc: unknown, source = 'config'): EndpointPickerConfig {
  const v: Validator = new Validator(source);
  const root = v.attempt(() => v.object(doc, ''), {});
  v.only(root, '', [...TOP_LEVEL]);

  const apiVersion = v.attempt(() => v.optString(root.apiVersion, 'apiVersion'), null) ?? CONFIG_API_VERSION;
  if (apiVersion !== CONFIG_API_VERSION) v.attempt(() => v.fail('apiVersion', `must be ${CONFIG_API_VERSION}, got "${apiVersion}"`), undefined);
  const kind = v.attempt(() => v.optString(root.kind, 'kind'), null) ?? CONFIG_KIND;
  if (kind !== CONFIG_KIND) v.attempt(() => v.fail('kind', `must be ${CONFIG_KIND}, got "${kind}"`), undefined);
  const featureGates = v.items(root.featureGates, 'featureGates', (g, at) => {
    const gate = v.string(g, at);
    if (!KNOWN_FEATURE_GATES.has(gate)) v.fail(at, `unknown feature gate "${gate}"${didYouMean(gate, KNOWN_FEATURE_GATES)}`);
    return gate;
  });

  const scheduling = readSchedulingSections(root, v);
  const flowControl = v.attempt(() => parseFlowControl(root.flowControl, v), null);
  const promptGuards = v.attempt(() => parsePromptGuards(root.promptGuards, v), []);
  const tokenBudgets = v.attempt(() => parseTokenBudgets(root.tokenBudgets, v), null);
  const extensions = readExtensionSections(root, v);
  const pools = v.attempt(
    () => parsePools(root.pools, v, { plugins: scheduling.plugins, profiles: scheduling.schedulingProfiles, parseEndpoint: (e, at) => parseStaticEndpoint(e, at, v) }),
    [],
  );
  if (pools.length > 0 && extensions.endpoints.length > 0) v.attempt(() => v.fail('endpoints', 'with pools, list endpoints in their pool (pools[].endpoints)'), undefined);
  const spillover = v.attempt(() => parseSpillover(root.spillover, v, pools), undefined);

  v.finish();
  const multi = pools.length > 0 ? { pools, spillover } : {};
  return { apiVersion, kind, featureGates, ...scheduling, flowControl, ...extensions, promptGuards, tokenBudgets, ...multi, source };
}

/**
 * `plugins`, `schedulingProfiles`, `saturationDetector`, `parser` and `dataLayer` (or `data`):
 * the plugin declarations and every reference to them. Without `plugins` and
 * `schedulingProfiles` the default scheduling applies.
 */
function readSchedulingSections(
  root: Record<string, unknown>,
  v: Validator,
): Pick<EndpointPickerConfig, 'plugins' | 'schedulingProfiles' | 'saturationDetector' | 'parser' | 'dataLayer'> {
  const scheduling = root.plugins === undefined && root.schedulingProfiles === undefined ? defaultSchedulingDocument() : root;
  const plugins: PluginSpec[] = v.items(scheduling.plugins, 'plugins', (raw, at) => {
    const o = v.object(raw, at);
    v.only(o, at, ['type', 'name', 'parameters']);
    const type = v.string(o.type, `${at}.type`);
    const name = v.attempt(() => v.optString(o.name, `${at}.name`), null) ?? type;
    const parameters = o.parameters === undefined || o.parameters === null ? {} : v.attempt(() => v.object(o.parameters, `${at}.parameters`), {});
    return { type, name, parameters };
  });
  const names = new Set<string>();
  plugins.forEach((p, i) => {
    if (names.has(p.name)) v.attempt(() => v.fail(`plugins[${i}].name`, `duplicate plugin name "${p.name}"`), undefined);
    names.add(p.name);
  });
  const pluginRef = (val: unknown, at: string): string => {
    const r = v.string(val, at);
    if (!names.has(r)) v.fail(at, `no plugin named "${r}"${didYouMean(r, names)}`);
    return r;
  };

  const schedulingProfiles: SchedulingProfileSpec[] = v.items(scheduling.schedulingProfiles, 'schedulingProfiles', (raw, at) => {
    const o = v.object(raw, at);
    v.only(o, at, ['name', 'plugins']);
    const name = v.string(o.name, `${at}.name`);
    const refs: ProfilePluginRef[] = v.items(o.plugins, `${at}.plugins`, (r, rat) => {
      const ro = v.object(r, rat);
      v.only(ro, rat, ['pluginRef', 'weight']);
      const ref = pluginRef(ro.pluginRef, `${rat}.pluginRef`);
      let weight: number | null = null;
      if (ro.weight !== undefined && ro.weight !== null) {
        if (typeof ro.weight !== 'number' || !Number.isFinite(ro.weight)) v.fail(`${rat}.weight`, `must be a number, got ${kindOf(ro.weight)}`);
        if (ro.weight < 0) v.fail(`${rat}.weight`, `must not be negative, got ${ro.weight}`);
        weight = ro.weight;
      }
      return { pluginRef: ref, weight };
    });
    return { name, plugins: refs };
  });
  const profileNames = new Set<string>();
  schedulingProfiles.forEach((p, i) => {
    if (profileNames.has(p.name)) v.attempt(() => v.fail(`schedulingProfiles[${i}].name`, `duplicate profile name "${p.name}"`), undefined);
    profileNames.add(p.name);
  });

  const ref = (val: unknown, at: string): string | null => {
    if (val === undefined || val === null) return null;
    const o = v.object(val, at);
    v.only(o, at, ['pluginRef']);
    return pluginRef(o.pluginRef, `${at}.pluginRef`);
  };
  const saturationDetector = v.attempt(() => ref(root.saturationDetector, 'saturationDetector'), null);
  const parser = v.attempt(() => ref(root.parser, 'parser'), null);

  // The Go tag is `dataLayer`; the site docs say `data`. Accept both, not both at once.
  if (root.dataLayer !== undefined && root.data !== undefined) v.attempt(() => v.fail('data', 'use either dataLayer or data, not both'), undefined);
  const dlKey = root.dataLayer !== undefined ? 'dataLayer' : 'data';
  const dataLayer: EndpointPickerConfig['dataLayer'] = [];
  const dl = root[dlKey];
  if (dl !== undefined && dl !== null) {
    v.attempt(() => {
      const o = v.object(dl, dlKey);
      v.only(o, dlKey, ['sources']);
      for (const src of v.items(o.sources, `${dlKey}.sources`, (s, at) => {
        const so = v.object(s, at);
        v.only(so, at, ['pluginRef', 'extractors']);
        const source = pluginRef(so.pluginRef, `${at}.pluginRef`);
        const extractors = v.items(so.extractors, `${at}.extractors`, (e, eat) => ref(e, eat) as string);
        return { pluginRef: source, extractors };
      }))
        dataLayer.push(src);
    }, undefined);
  }
  return { plugins, schedulingProfiles, saturationDetector, parser, dataLayer };
}

/** Switchboard's extensions: static `endpoints`, `objectives` and `modelRewrites`. */
function readExtensionSections(root: Record<string, unknown>, v: Validator): Pick<EndpointPickerConfig, 'endpoints' | 'objectives' | 'modelRewrites'> {
  const endpoints = v.items(root.endpoints, 'endpoints', (e, at) => parseStaticEndpoint(e, at, v));
  const seenEndpoints = new Set<string>();
  endpoints.forEach((e, i) => {
    const key = `${e.address}:${e.port}`;
    if (seenEndpoints.has(key)) v.attempt(() => v.fail(`endpoints[${i}]`, `duplicate endpoint ${key}`), undefined);
    seenEndpoints.add(key);
  });

  const objectives: ObjectiveSpec[] = v.items(root.objectives, 'objectives', (o, at) => {
    const oo = v.object(o, at);
    v.only(oo, at, ['name', 'priority']);
    const priority = oo.priority === undefined || oo.priority === null ? 0 : oo.priority;
    if (typeof priority !== 'number' || !Number.isInteger(priority)) v.fail(`${at}.priority`, `must be an integer, got ${kindOf(priority)}`);
    return { name: v.string(oo.name, `${at}.name`), priority };
  });

  const modelRewrites: ModelRewriteSpec[] = v.items(root.modelRewrites, 'modelRewrites', (r, at) => {
    const ro = v.object(r, at);
    v.only(ro, at, ['name', 'model', 'targets']);
    const model = v.string(ro.model, `${at}.model`);
    const targets = v.items(ro.targets, `${at}.targets`, (t, tat) => {
      const to = v.object(t, tat);
      v.only(to, tat, ['model', 'weight']);
      const weight = to.weight === undefined || to.weight === null ? 0 : to.weight;
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) v.fail(`${tat}.weight`, `must be a number >= 0, got ${kindOf(weight)}`);
      return { model: v.string(to.model, `${tat}.model`), weight };
    });
    if (targets.length === 0 && !v.problems.some((p) => p.path.startsWith(`${at}.targets`))) v.fail(`${at}.targets`, 'needs at least one target');
    return { name: v.attempt(() => v.optString(ro.name, `${at}.name`), null) ?? model, model, targets };
  });
  return { endpoints, objectives, modelRewrites };
}

/** Parses `ip:port`, `[v6]:port`, or `{address, port, name?, labels?, metricsPort?, kvEventsPort?, kvEventsReplayPort?}`. */
export function parseStaticEndpoint(raw: unknown, at: string, given?: Validator): StaticEndpointSpec {
  const v = given ?? new Validator('endpoints');
  const out = readStaticEndpoint(raw, at, v);
  // A validator of its own: report what it collected (a caller's validator reports at its end).
  if (given === undefined) v.finish();
  return out;
}

function readStaticEndpoint(raw: unknown, at: string, v: Validator): StaticEndpointSpec {
  if (typeof raw === 'string') {
    const hp = parseHostPort(raw);
    if (hp === null) v.fail(at, `must be "host:port", got "${raw}"`);
    return hp;
  }
  const o = v.object(raw, at);
  v.only(o, at, ['address', 'port', 'name', 'labels', 'metricsPort', 'kvEventsPort', 'kvEventsReplayPort']);
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
  if (o.kvEventsPort !== undefined && o.kvEventsPort !== null) out.kvEventsPort = v.port(o.kvEventsPort, `${at}.kvEventsPort`);
  if (o.kvEventsReplayPort !== undefined && o.kvEventsReplayPort !== null) out.kvEventsReplayPort = v.port(o.kvEventsReplayPort, `${at}.kvEventsReplayPort`);
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

