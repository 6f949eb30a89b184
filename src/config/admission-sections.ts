/**
 * The admission sections of the config file: `flowControl` (the Go EPP's schema plus two
 * extensions), `promptGuards` and `tokenBudgets` (Switchboard's). Strict like the rest of the
 * loader: unknown fields, wrong types and dangling policy references name the field.
 */
import type { FlowControlSpec, PriorityBandSpec, PromptGuardSpec, TokenBudgetSpec, TokenLimitSpec } from './types.js';
import type { Validator } from './validator.js';

/** The Go EPP's default policies of a band (types; the plugins validate references at start). */
const DEFAULT_FAIRNESS = 'global-strict-fairness-policy';
const DEFAULT_ORDERING = 'fcfs-ordering-policy';
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
    fairness: DEFAULT_FAIRNESS,
    ordering: DEFAULT_ORDERING,
  };
  return { maxBytes: 0, maxRequests: 0, defaultRequestTTLMs: DEFAULT_TTL_MS, priorityBands: [], defaultPriorityBand: band, sheddable: 'reject', recheckIntervalMs: DEFAULT_RECHECK_MS };
}

/** Parses `flowControl:`; policy references are kept as written and resolved when flow control is built. */
export function parseFlowControl(raw: unknown, v: Validator): FlowControlSpec | null {
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
      fairness: policyRef(bo.fairnessPolicyRef, `${at}.fairnessPolicyRef`, template?.fairness ?? DEFAULT_FAIRNESS, v),
      ordering: policyRef(bo.orderingPolicyRef, `${at}.orderingPolicyRef`, template?.ordering ?? DEFAULT_ORDERING, v),
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
 * A policy reference: a plugin name from `plugins:`, or (as the Go EPP's system defaults allow)
 * a policy type name. Whether it names a policy of the right kind is checked when flow control
 * is built, by the plugin registry.
 */
function policyRef(raw: unknown, at: string, def: string, v: Validator): string {
  return v.optString(raw, at) ?? def;
}

/** Parses `promptGuards:`: each entry's type and name; the rest are the guard's parameters. */
export function parsePromptGuards(raw: unknown, v: Validator): PromptGuardSpec[] {
  const guards = v.items(raw, 'promptGuards', (g, at): PromptGuardSpec => {
    const o = v.object(g, at);
    if (o.type === undefined) v.fail(`${at}.type`, 'is required (a prompt guard type: local-policy, http-screening)');
    const type = v.string(o.type, `${at}.type`);
    const name = v.optString(o.name, `${at}.name`) ?? type;
    const parameters: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(o)) if (k !== 'type' && k !== 'name') parameters[k] = val;
    return { type, name, parameters };
  });
  const names = new Set<string>();
  guards.forEach((g, i) => {
    if (names.has(g.name)) v.attempt(() => v.fail(`promptGuards[${i}].name`, `duplicate guard name "${g.name}"`), undefined);
    names.add(g.name);
  });
  return guards;
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
