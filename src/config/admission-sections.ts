/**
 * The admission sections of the config file: `flowControl` (the Go EPP's schema plus two
 * extensions), `promptGuards` and `tokenBudgets` (Switchboard's). Strict like the rest of the
 * loader: unknown fields, wrong types and dangling policy references name the field.
 */
import type {
  FairnessPolicyType,
  FlowControlSpec,
  HttpScreeningGuardSpec,
  LocalPolicyGuardSpec,
  OrderingPolicyType,
  PluginSpec,
  PriorityBandSpec,
  PromptGuardSpec,
  TokenBudgetSpec,
  TokenLimitSpec,
} from './types.js';
import { denyPattern } from '../admission/guards/local-policy.js';
import type { Validator } from './validator.js';

const FAIRNESS: readonly FairnessPolicyType[] = ['global-strict-fairness-policy', 'round-robin-fairness-policy'];
const ORDERING: readonly OrderingPolicyType[] = ['fcfs-ordering-policy', 'edf-ordering-policy'];
/** The Go EPP's default band capacity: 1 GB. */
const DEFAULT_BAND_MAX_BYTES = 1_000_000_000;
const DEFAULT_TTL_MS = 30_000;
const DEFAULT_RECHECK_MS = 100;

const BAND_FIELDS = ['priority', 'maxBytes', 'maxRequests', 'maxRequestsPerFlow', 'fairnessPolicyRef', 'orderingPolicyRef'];

/** Flow-control settings when the feature gate is on and the section is absent. */
export function defaultFlowControlSpec(): FlowControlSpec {
  const band: PriorityBandSpec = {
    priority: 0,
    maxBytes: DEFAULT_BAND_MAX_BYTES,
    maxRequests: 0,
    maxRequestsPerFlow: 0,
    fairness: FAIRNESS[0],
    ordering: ORDERING[0],
  };
  return { maxBytes: 0, maxRequests: 0, defaultRequestTTLMs: DEFAULT_TTL_MS, priorityBands: [], defaultPriorityBand: band, sheddable: 'reject', recheckIntervalMs: DEFAULT_RECHECK_MS };
}

/** Parses `flowControl:`; `plugins` resolves policy references by plugin name. */
export function parseFlowControl(raw: unknown, plugins: readonly PluginSpec[], v: Validator): FlowControlSpec | null {
  if (raw === undefined || raw === null) return null;
  const o = v.object(raw, 'flowControl');
  v.only(o, 'flowControl', ['maxBytes', 'maxRequests', 'defaultRequestTTL', 'priorityBands', 'defaultPriorityBand', 'sheddable', 'recheckInterval']);
  const band = (b: unknown, at: string, template: PriorityBandSpec | null): PriorityBandSpec => {
    const bo = v.object(b, at);
    v.only(bo, at, template === null ? BAND_FIELDS.slice(1) : BAND_FIELDS);
    const priority = template === null ? 0 : v.number(bo.priority, `${at}.priority`, NaN, { integer: true });
    if (Number.isNaN(priority)) v.fail(`${at}.priority`, 'is required');
    return {
      priority,
      maxBytes: v.bytes(bo.maxBytes, `${at}.maxBytes`, 0) || (template?.maxBytes ?? DEFAULT_BAND_MAX_BYTES),
      maxRequests: v.number(bo.maxRequests, `${at}.maxRequests`, template?.maxRequests ?? 0, { min: 0, integer: true }),
      maxRequestsPerFlow: v.number(bo.maxRequestsPerFlow, `${at}.maxRequestsPerFlow`, template?.maxRequestsPerFlow ?? 0, { min: 0, integer: true }),
      fairness: policyRef(bo.fairnessPolicyRef, `${at}.fairnessPolicyRef`, FAIRNESS, template?.fairness ?? FAIRNESS[0], plugins, v),
      ordering: policyRef(bo.orderingPolicyRef, `${at}.orderingPolicyRef`, ORDERING, template?.ordering ?? ORDERING[0], plugins, v),
    };
  };
  const defaultPriorityBand = band(o.defaultPriorityBand ?? {}, 'flowControl.defaultPriorityBand', null);
  const priorityBands = v.list(o.priorityBands, 'flowControl.priorityBands').map((b, i) => band(b, `flowControl.priorityBands[${i}]`, defaultPriorityBand));
  const seen = new Set<number>();
  priorityBands.forEach((b, i) => {
    if (seen.has(b.priority)) v.fail(`flowControl.priorityBands[${i}].priority`, `duplicate priority ${b.priority}`);
    seen.add(b.priority);
  });
  priorityBands.sort((a, b) => b.priority - a.priority);
  const recheckIntervalMs = v.durationMs(o.recheckInterval, 'flowControl.recheckInterval', DEFAULT_RECHECK_MS);
  if (recheckIntervalMs < 1) v.fail('flowControl.recheckInterval', 'must be at least 1ms');
  return {
    maxBytes: v.bytes(o.maxBytes, 'flowControl.maxBytes', 0),
    maxRequests: v.number(o.maxRequests, 'flowControl.maxRequests', 0, { min: 0, integer: true }),
    defaultRequestTTLMs: v.durationMs(o.defaultRequestTTL, 'flowControl.defaultRequestTTL', DEFAULT_TTL_MS),
    priorityBands,
    defaultPriorityBand,
    sheddable: v.oneOf(o.sheddable, 'flowControl.sheddable', 'reject', ['reject', 'queue'] as const),
    recheckIntervalMs,
  };
}

/**
 * A policy reference is a plugin name from `plugins:` whose type is one of `types`, or (as the
 * Go EPP's system defaults allow) the type name itself.
 */
function policyRef<T extends string>(raw: unknown, at: string, types: readonly T[], def: T, plugins: readonly PluginSpec[], v: Validator): T {
  const ref = v.optString(raw, at);
  if (ref === null) return def;
  const type = plugins.find((p) => p.name === ref)?.type ?? ref;
  if (!types.includes(type as T)) v.fail(at, `"${ref}" is not one of ${types.join(', ')} (or a plugin of those types)`);
  return type as T;
}

/** Parses `promptGuards:`. */
export function parsePromptGuards(raw: unknown, v: Validator): PromptGuardSpec[] {
  const guards = v.list(raw, 'promptGuards').map((g, i): PromptGuardSpec => {
    const at = `promptGuards[${i}]`;
    const o = v.object(g, at);
    if (o.type === undefined) v.fail(`${at}.type`, 'is required (local-policy or http-screening)');
    const type = v.oneOf(o.type, `${at}.type`, 'local-policy', ['local-policy', 'http-screening'] as const);
    const name = v.optString(o.name, `${at}.name`) ?? type;
    return type === 'local-policy' ? localPolicy(o, at, name, v) : httpScreening(o, at, name, v);
  });
  const names = new Set<string>();
  guards.forEach((g, i) => {
    if (names.has(g.name)) v.fail(`promptGuards[${i}].name`, `duplicate guard name "${g.name}"`);
    names.add(g.name);
  });
  return guards;
}

function localPolicy(o: Record<string, unknown>, at: string, name: string, v: Validator): LocalPolicyGuardSpec {
  v.only(o, at, ['type', 'name', 'maxPromptBytes', 'denyPatterns', 'ignoreCase', 'allowedModels']);
  const ignoreCase = v.boolean(o.ignoreCase, `${at}.ignoreCase`, true);
  const denyPatterns = v.stringList(o.denyPatterns, `${at}.denyPatterns`);
  denyPatterns.forEach((p, j) => {
    try {
      denyPattern(p, ignoreCase);
    } catch (err) {
      v.fail(`${at}.denyPatterns[${j}]`, `not a valid regular expression: ${(err as Error).message}`);
    }
  });
  const allowedModels = v.list(o.allowedModels, `${at}.allowedModels`).map((e, j) => {
    const eat = `${at}.allowedModels[${j}]`;
    const eo = v.object(e, eat);
    v.only(eo, eat, ['objective', 'models']);
    const models = v.stringList(eo.models, `${eat}.models`);
    if (models.length === 0) v.fail(`${eat}.models`, 'needs at least one model (use "*" for any)');
    return { objective: v.string(eo.objective, `${eat}.objective`), models };
  });
  const objectives = new Set<string>();
  allowedModels.forEach((e, j) => {
    if (objectives.has(e.objective)) v.fail(`${at}.allowedModels[${j}].objective`, `duplicate objective "${e.objective}"`);
    objectives.add(e.objective);
  });
  return {
    type: 'local-policy',
    name,
    maxPromptBytes: v.bytes(o.maxPromptBytes, `${at}.maxPromptBytes`, 0),
    denyPatterns,
    ignoreCase,
    allowedModels,
  };
}

function httpScreening(o: Record<string, unknown>, at: string, name: string, v: Validator): HttpScreeningGuardSpec {
  v.only(o, at, ['type', 'name', 'url', 'format', 'timeout', 'failureMode', 'headers', 'maxConcurrent']);
  const url = v.string(o.url, `${at}.url`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return v.fail(`${at}.url`, `not a valid URL: "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') v.fail(`${at}.url`, 'must be an http or https URL');
  const headers: Record<string, string> = {};
  if (o.headers !== undefined && o.headers !== null) {
    for (const [k, val] of Object.entries(v.object(o.headers, `${at}.headers`))) {
      if (typeof val !== 'string') v.fail(`${at}.headers.${k}`, 'must be a string');
      headers[k.toLowerCase()] = val;
    }
  }
  const timeoutMs = v.durationMs(o.timeout, `${at}.timeout`, 500);
  if (timeoutMs < 1) v.fail(`${at}.timeout`, 'must be at least 1ms');
  return {
    type: 'http-screening',
    name,
    url,
    format: v.oneOf(o.format, `${at}.format`, 'switchboard', ['switchboard', 'model-armor'] as const),
    timeoutMs,
    failureMode: v.oneOf(o.failureMode, `${at}.failureMode`, 'FailClose', ['FailOpen', 'FailClose'] as const),
    headers,
    maxConcurrent: v.number(o.maxConcurrent, `${at}.maxConcurrent`, 256, { min: 1, integer: true }),
  };
}

/** Parses `tokenBudgets:`. */
export function parseTokenBudgets(raw: unknown, v: Validator): TokenBudgetSpec | null {
  if (raw === undefined || raw === null) return null;
  const o = v.object(raw, 'tokenBudgets');
  v.only(o, 'tokenBudgets', ['default', 'flows', 'maxFlows']);
  const limit = (x: unknown, at: string, extra: string[] = []): TokenLimitSpec => {
    const lo = v.object(x, at);
    v.only(lo, at, ['inputTokensPerMinute', 'outputTokensPerMinute', ...extra]);
    return {
      inputTokensPerMinute: v.number(lo.inputTokensPerMinute, `${at}.inputTokensPerMinute`, 0, { min: 0 }),
      outputTokensPerMinute: v.number(lo.outputTokensPerMinute, `${at}.outputTokensPerMinute`, 0, { min: 0 }),
    };
  };
  const flows = v.list(o.flows, 'tokenBudgets.flows').map((f, i) => {
    const at = `tokenBudgets.flows[${i}]`;
    return { ...limit(f, at, ['fairnessId']), fairnessId: v.string((f as Record<string, unknown>).fairnessId, `${at}.fairnessId`) };
  });
  const ids = new Set<string>();
  flows.forEach((f, i) => {
    if (ids.has(f.fairnessId)) v.fail(`tokenBudgets.flows[${i}].fairnessId`, `duplicate fairness id "${f.fairnessId}"`);
    ids.add(f.fairnessId);
  });
  return {
    default: o.default === undefined || o.default === null ? null : limit(o.default, 'tokenBudgets.default'),
    flows,
    maxFlows: v.number(o.maxFlows, 'tokenBudgets.maxFlows', 10_000, { min: 1, integer: true }),
  };
}
