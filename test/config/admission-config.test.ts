import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { parseQuantity } from '../../src/util/quantity.js';
import { createSwitchboard } from '../../src/switchboard.js';
import { Params } from '../../src/framework/params.js';
import { localPolicySettings } from '../../src/admission/plugins/local-policy/index.js';
import { httpScreeningSettings } from '../../src/admission/plugins/http-screening/index.js';

const fails = (text: string) => {
  try {
    parseConfig(text, 'test.yaml');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the config to fail');
};

/** The message a config fails with when the core is built (plugin-level checks: policies, guards). */
const failsAtStart = (text: string) => {
  const cfg = parseConfig(text, 'test.yaml');
  try {
    void createSwitchboard({ config: cfg, scrape: false, telemetry: false }).close();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the config to fail at start');
};

describe('flowControl section', () => {
  it("reads the Go EPP's documented section, resolving policy references by type or plugin name", () => {
    const cfg = parseConfig(`
featureGates: [flowControl]
plugins: [{type: edf-ordering-policy, name: by-deadline}]
flowControl:
  maxBytes: 1Gi
  maxRequests: 5000
  defaultRequestTTL: 30s
  priorityBands:
  - {priority: 0, maxBytes: 500M, fairnessPolicyRef: round-robin-fairness-policy}
  - {priority: 100, maxRequests: 10, orderingPolicyRef: by-deadline}
  defaultPriorityBand: {maxBytes: 2G, maxRequests: 50}
`);
    expect(cfg.flowControl).toEqual({
      maxBytes: 2 ** 30,
      maxRequests: 5000,
      defaultRequestTTLMs: 30_000,
      priorityBands: [
        { priority: 100, maxBytes: 2e9, maxRequests: 10, maxRequestsPerFlow: 0, fairness: 'global-strict-fairness-policy', ordering: 'by-deadline' },
        { priority: 0, maxBytes: 5e8, maxRequests: 50, maxRequestsPerFlow: 0, fairness: 'round-robin-fairness-policy', ordering: 'fcfs-ordering-policy' },
      ],
      defaultPriorityBand: { priority: 0, maxBytes: 2e9, maxRequests: 50, maxRequestsPerFlow: 0, fairness: 'global-strict-fairness-policy', ordering: 'fcfs-ordering-policy' },
      sheddable: 'reject',
      recheckIntervalMs: 100,
    });
  });

  it('defaults: 1 GB per band, no global limits, 30 s TTL', () => {
    const fc = parseConfig('flowControl: {}').flowControl!;
    expect([fc.maxBytes, fc.maxRequests, fc.defaultRequestTTLMs, fc.defaultPriorityBand.maxBytes]).toEqual([0, 0, 30_000, 1e9]);
    expect(parseConfig('kind: EndpointPickerConfig').flowControl).toBeNull();
  });

  it('names the field and the reason for every mistake', () => {
    expect(fails('flowControl: {maxBytes: lots}')).toBe(
      'invalid config: test.yaml: flowControl.maxBytes: must be a byte count such as 1000000, "500M" or "1Gi", got "lots"',
    );
    expect(fails('flowControl: {priorityBands: [{maxBytes: 1}]}')).toMatch(/flowControl\.priorityBands\[0\]\.priority: is required/);
    expect(fails('flowControl: {priorityBands: [{priority: 1}, {priority: 1}]}')).toMatch(/priorityBands\[1\]\.priority: duplicate priority 1/);
    // Policy references are checked by the plugin registry when flow control is built.
    expect(failsAtStart('featureGates: [flowControl]\nflowControl: {priorityBands: [{priority: 1, fairnessPolicyRef: fifo}]}')).toMatch(
      /invalid config: test\.yaml: flowControl fairnessPolicyRef "fifo": unknown plugin type "fifo" \(known: global-strict-fairness-policy, round-robin-fairness-policy\)/,
    );
    expect(failsAtStart('featureGates: [flowControl]\nflowControl: {priorityBands: [{priority: 1, orderingPolicyRef: slo-deadline-ordering-policy}]}')).toMatch(/orderingPolicyRef "slo-deadline-ordering-policy"/);
    expect(fails('flowControl: {defaultRequestTTL: soon}')).toMatch(/flowControl\.defaultRequestTTL: must be a duration/);
    expect(fails('flowControl: {maxRequests: -1}')).toMatch(/flowControl\.maxRequests: must be >= 0/);
    expect(fails('flowControl: {queueSize: 3}')).toMatch(/flowControl\.queueSize: unknown field/);
    expect(fails('flowControl: {defaultPriorityBand: {priority: 3}}')).toMatch(/defaultPriorityBand\.priority: unknown field/);
    expect(fails('flowControl: {sheddable: drop}')).toMatch(/flowControl\.sheddable: must be one of reject, queue/);
  });

  it('parses Kubernetes quantities', () => {
    expect([parseQuantity('1Gi'), parseQuantity('500M'), parseQuantity('512Mi'), parseQuantity('1k'), parseQuantity(42), parseQuantity('1e3')]).toEqual([
      2 ** 30, 5e8, 512 * 2 ** 20, 1000, 42, 1000,
    ]);
    expect([parseQuantity('-1'), parseQuantity('1X'), parseQuantity(''), parseQuantity(-5)]).toEqual([null, null, null, null]);
  });
});

describe('promptGuards section', () => {
  it('reads both guard types with their defaults', () => {
    const cfg = parseConfig(`
promptGuards:
- type: local-policy
  maxPromptBytes: 64Ki
  denyPatterns: ['ignore (all|previous) instructions']
  allowedModels: [{objective: free-tier, models: [small]}, {objective: '*', models: ['*']}]
- type: http-screening
  name: armor
  url: http://127.0.0.1:9/screen
  timeout: 250ms
  failureMode: FailOpen
  headers: {Authorization: Bearer x}
`);
    // The config keeps each entry's type, name and parameters; the guard's factory validates them.
    expect(cfg.promptGuards.map((g) => [g.type, g.name, Object.keys(g.parameters)])).toEqual([
      ['local-policy', 'local-policy', ['maxPromptBytes', 'denyPatterns', 'allowedModels']],
      ['http-screening', 'armor', ['url', 'timeout', 'failureMode', 'headers']],
    ]);
    const guards = localPolicySettings('local-policy', new Params('local-policy', cfg.promptGuards[0].parameters));
    expect(guards).toEqual({
      name: 'local-policy',
      maxPromptBytes: 65536,
      denyPatterns: ['ignore (all|previous) instructions'],
      ignoreCase: true,
      allowedModels: [
        { objective: 'free-tier', models: ['small'] },
        { objective: '*', models: ['*'] },
      ],
    });
    expect(httpScreeningSettings('armor', new Params('armor', cfg.promptGuards[1].parameters))).toEqual({
      name: 'armor',
      url: 'http://127.0.0.1:9/screen',
      format: 'switchboard',
      timeoutMs: 250,
      failureMode: 'FailOpen',
      headers: { authorization: 'Bearer x' },
      maxConcurrent: 256,
    });
  });

  it('rejects bad guards by field', () => {
    expect(fails('promptGuards: [{maxPromptBytes: 3}]')).toMatch(/promptGuards\[0\]\.type: is required/);
    expect(fails('promptGuards: [{type: local-policy}, {type: local-policy}]')).toMatch(/promptGuards\[1\]\.name: duplicate guard name "local-policy"/);
    // The guards' own factories check their parameters when the core is built, naming the entry.
    expect(failsAtStart('promptGuards: [{type: vibes}]')).toMatch(/promptGuards\[0\]: unknown plugin type "vibes" \(known: http-screening, local-policy\)/);
    expect(failsAtStart('promptGuards: [{type: local-polcy}]')).toMatch(/promptGuards\[0\]: unknown plugin type "local-polcy" \(did you mean "local-policy"\?\)/);
    expect(failsAtStart('promptGuards: [{type: queue-scorer}]')).toMatch(/promptGuards\[0\]: .*belongs to extension point "scheduling", not "prompt-guard"/);
    expect(failsAtStart("promptGuards: [{type: local-policy, denyPatterns: ['(']}]")).toMatch(/promptGuards\[0\]\.denyPatterns\[0\]: is not a valid regular expression/);
    expect(failsAtStart('promptGuards: [{type: http-screening, url: ftp://x}]')).toMatch(/promptGuards\[0\]\.url: must be an http or https URL/);
    expect(failsAtStart('promptGuards: [{type: http-screening}]')).toMatch(/promptGuards\[0\]\.url: is required/);
    expect(failsAtStart('promptGuards: [{type: http-screening, url: "http://x", failureMode: open}]')).toMatch(/promptGuards\[0\]\.failureMode: must be one of FailOpen, FailClose/);
    expect(failsAtStart('promptGuards: [{type: local-policy, allowedModels: [{objective: a, models: []}]}]')).toMatch(/promptGuards\[0\]\.allowedModels\[0\]\.models: needs at least one model/);
    // Strict parameters: a misspelt field must not silently let prompts through.
    expect(failsAtStart('promptGuards: [{type: local-policy, denyPattern: [x]}]')).toMatch(/promptGuards\[0\]\.denyPattern: is not a parameter of local-policy \(did you mean "denyPatterns"\?\)/);
  });
});

describe('tokenBudgets section', () => {
  it('reads a default and per-flow limits', () => {
    const cfg = parseConfig(`
tokenBudgets:
  default: {inputTokensPerMinute: 1000, outputTokensPerMinute: 200}
  flows: [{fairnessId: big, inputTokensPerMinute: 100000}]
`);
    expect(cfg.tokenBudgets).toEqual({
      default: { inputTokensPerMinute: 1000, outputTokensPerMinute: 200 },
      flows: [{ fairnessId: 'big', inputTokensPerMinute: 100000, outputTokensPerMinute: 0 }],
      maxFlows: 10000,
    });
  });

  it('rejects bad budgets by field', () => {
    expect(fails('tokenBudgets: {default: {inputTokensPerMinute: -1}}')).toMatch(/tokenBudgets\.default\.inputTokensPerMinute: must be >= 0/);
    expect(fails('tokenBudgets: {flows: [{inputTokensPerMinute: 1}]}')).toMatch(/tokenBudgets\.flows\[0\]\.fairnessId: is required/);
    expect(fails('tokenBudgets: {flows: [{fairnessId: a}, {fairnessId: a}]}')).toMatch(/flows\[1\]\.fairnessId: duplicate fairness id "a"/);
    expect(fails('tokenBudgets: {perMinute: 3}')).toMatch(/tokenBudgets\.perMinute: unknown field/);
  });
});

describe('modelRewrites names', () => {
  it('takes a rule name for the decisions metric, defaulting to the model', () => {
    const cfg = parseConfig('modelRewrites: [{name: canary, model: a, targets: [{model: b}]}, {model: c, targets: [{model: d}]}]');
    expect(cfg.modelRewrites.map((r) => r.name)).toEqual(['canary', 'c']);
  });
});
