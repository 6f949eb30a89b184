/**
 * Turns a validated config back into the file format, so `serve --print-config` shows what runs
 * in a form that loads again unchanged (defaults filled in, durations as Go strings).
 */
import { stringify as toYaml } from 'yaml';
import type { EndpointPickerConfig, PoolSpec, PriorityBandSpec, PromptGuardSpec, SpillPolicySpec, TokenLimitSpec } from './types.js';

/** Output formats of `--print-config`. */
export type ConfigFormat = 'yaml' | 'json';

/** The config as a file document (plain data in the schema `parseConfig` reads). */
export function configDocument(cfg: EndpointPickerConfig): Record<string, unknown> {
  const doc: Record<string, unknown> = { apiVersion: cfg.apiVersion, kind: cfg.kind };
  if (cfg.featureGates.length > 0) doc.featureGates = [...cfg.featureGates];
  doc.plugins = cfg.plugins.map((p) => {
    const o: Record<string, unknown> = { type: p.type };
    if (p.name !== p.type) o.name = p.name;
    if (Object.keys(p.parameters).length > 0) o.parameters = p.parameters;
    return o;
  });
  doc.schedulingProfiles = cfg.schedulingProfiles.map((s) => ({
    name: s.name,
    plugins: s.plugins.map((r) => (r.weight === null ? { pluginRef: r.pluginRef } : { pluginRef: r.pluginRef, weight: r.weight })),
  }));
  if (cfg.saturationDetector !== null) doc.saturationDetector = { pluginRef: cfg.saturationDetector };
  if (cfg.parser !== null) doc.parser = { pluginRef: cfg.parser };
  if (cfg.dataLayer.length > 0)
    doc.dataLayer = { sources: cfg.dataLayer.map((s) => ({ pluginRef: s.pluginRef, extractors: s.extractors.map((e) => ({ pluginRef: e })) })) };
  if (cfg.flowControl !== null) {
    const f = cfg.flowControl;
    doc.flowControl = {
      maxBytes: f.maxBytes,
      maxRequests: f.maxRequests,
      defaultRequestTTL: `${f.defaultRequestTTLMs}ms`,
      defaultPriorityBand: band(f.defaultPriorityBand, false),
      priorityBands: f.priorityBands.map((b) => band(b, true)),
      sheddable: f.sheddable,
      recheckInterval: `${f.recheckIntervalMs}ms`,
    };
  }
  if (cfg.endpoints.length > 0) doc.endpoints = cfg.endpoints.map((e) => ({ ...e }));
  if (cfg.objectives.length > 0) doc.objectives = cfg.objectives.map((o) => ({ ...o }));
  if (cfg.modelRewrites.length > 0) doc.modelRewrites = cfg.modelRewrites.map((r) => ({ ...r, targets: r.targets.map((t) => ({ ...t })) }));
  if (cfg.promptGuards.length > 0) doc.promptGuards = cfg.promptGuards.map(guard);
  if (cfg.tokenBudgets !== null) {
    const t = cfg.tokenBudgets;
    const out: Record<string, unknown> = { maxFlows: t.maxFlows, flows: t.flows.map((f) => ({ fairnessId: f.fairnessId, ...limit(f) })) };
    if (t.default !== null) out.default = limit(t.default);
    doc.tokenBudgets = out;
  }
  if (cfg.pools !== undefined && cfg.pools.length > 0) {
    doc.pools = cfg.pools.map(poolDocument);
    if (cfg.spillover !== undefined) {
      const sp = cfg.spillover;
      const policy = (p: SpillPolicySpec) => ({ ...(p.objective !== null ? { objective: p.objective } : {}), pools: [...p.pools], whenSaturated: p.whenSaturated });
      doc.spillover = {
        enterSaturation: sp.enterSaturation,
        exitSaturation: sp.exitSaturation,
        rampUp: `${sp.rampUpMs}ms`,
        default: policy(sp.default),
        policies: sp.policies.map(policy),
      };
    }
  }
  return doc;
}

function poolDocument(p: PoolSpec): Record<string, unknown> {
  const o: Record<string, unknown> = { name: p.name };
  const d = p.discovery;
  if (d.kind === 'static') o.endpoints = d.endpoints.map((e) => ({ ...e }));
  else if (d.kind === 'file') o.endpointsFile = d.path;
  else if (d.kind === 'inferencePool') o.inferencePool = { name: d.name, ...(d.namespace !== null ? { namespace: d.namespace } : {}), ...(d.group !== null ? { group: d.group } : {}) };
  else o.endpointSelector = { matchLabels: { ...d.matchLabels }, targetPorts: [...d.targetPorts], ...(d.namespace !== null ? { namespace: d.namespace } : {}) };
  if (p.modelServerType !== null) o.modelServerType = p.modelServerType;
  if (p.schedulingProfile !== null) o.schedulingProfile = p.schedulingProfile;
  if (p.saturationDetector !== null) o.saturationDetector = { pluginRef: p.saturationDetector };
  const a = p.attributes;
  o.attributes = { ...(a.region !== '' ? { region: a.region } : {}), ...(a.accelerator !== '' ? { accelerator: a.accelerator } : {}), costRank: a.costRank };
  return o;
}

function band(b: PriorityBandSpec, withPriority: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = withPriority ? { priority: b.priority } : {};
  return { ...o, maxBytes: b.maxBytes, maxRequests: b.maxRequests, maxRequestsPerFlow: b.maxRequestsPerFlow, fairnessPolicyRef: b.fairness, orderingPolicyRef: b.ordering };
}

function limit(l: TokenLimitSpec): TokenLimitSpec {
  return { inputTokensPerMinute: l.inputTokensPerMinute, outputTokensPerMinute: l.outputTokensPerMinute };
}

function guard(g: PromptGuardSpec): Record<string, unknown> {
  return { type: g.type, name: g.name, ...g.parameters };
}

/** The config as text in `format`. */
export function formatConfig(cfg: EndpointPickerConfig, format: ConfigFormat): string {
  const doc = configDocument(cfg);
  return format === 'json' ? JSON.stringify(doc, null, 2) + '\n' : toYaml(doc, { lineWidth: 0 });
}
