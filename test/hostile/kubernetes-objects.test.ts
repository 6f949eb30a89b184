/**
 * Kubernetes objects as the API server (or a careless controller) may hand them over: CRDs with
 * missing or mistyped fields, out-of-range ports, negative weights, odd pod addresses. The
 * parsers either refuse an object (null: discovery counts it as malformed and keeps the last good
 * state, see test/discovery) or return one whose every field is usable; endpoints built from them
 * always carry a plain IP and a valid port, since they become Envoy's routing header.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInferencePool, parseObjective, parsePod, parseRewrite, poolEndpoints, type PodInfo } from '../../src/discovery/kubernetes/resources.js';

/** Mostly `good`, sometimes anything: generated objects should often be usable, sometimes not. */
const mostly = <T,>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: anyValue });
const anyValue = fc.oneof(fc.string({ maxLength: 10 }), fc.integer({ min: -70000, max: 70000 }), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined));

describe('CRDs with missing or wrong fields are refused', () => {
  it.each<[string, Record<string, unknown>]>([
    ['no metadata name', { spec: { selector: { matchLabels: { app: 'x' } }, targetPorts: [{ number: 8000 }] } }],
    ['no spec', { metadata: { name: 'p' } }],
    ['a spec that is a string', { metadata: { name: 'p' }, spec: 'selector: app=x' }],
    ['no selector', { metadata: { name: 'p' }, spec: { targetPorts: [{ number: 8000 }] } }],
    ['an empty selector (would select every pod)', { metadata: { name: 'p' }, spec: { selector: { matchLabels: {} }, targetPorts: [{ number: 8000 }] } }],
    ['a selector value that is a number', { metadata: { name: 'p' }, spec: { selector: { matchLabels: { app: 3 } }, targetPorts: [{ number: 8000 }] } }],
    ['no ports', { metadata: { name: 'p' }, spec: { selector: { matchLabels: { app: 'x' } }, targetPorts: [] } }],
    ['a port as text', { metadata: { name: 'p' }, spec: { selector: { matchLabels: { app: 'x' } }, targetPorts: [{ number: '8000' }] } }],
    ['a negative port', { metadata: { name: 'p' }, spec: { selector: { matchLabels: { app: 'x' } }, targetPorts: [{ number: -1 }] } }],
    ['a port above 65535', { metadata: { name: 'p' }, spec: { selector: { matchLabels: { app: 'x' } }, targetPortNumber: 70000, selector2: 1 } }],
    ['duplicate ports', { metadata: { name: 'p' }, spec: { selector: { matchLabels: { app: 'x' } }, targetPorts: [{ number: 8000 }, { number: 8000 }] } }],
    ['nine ports', { metadata: { name: 'p' }, spec: { selector: { matchLabels: { app: 'x' } }, targetPorts: Array.from({ length: 9 }, (_, i) => ({ number: 8000 + i })) } }],
  ])('InferencePool: %s', (_name, obj) => {
    expect(parseInferencePool(obj)).toBeNull();
  });

  it.each<[string, Record<string, unknown>]>([
    ['no poolRef', { metadata: { name: 'o' }, spec: { priority: 1 } }],
    ['a priority as text', { metadata: { name: 'o' }, spec: { priority: 'high', poolRef: { name: 'p' } } }],
    ['a fractional priority', { metadata: { name: 'o' }, spec: { priority: 1.5, poolRef: { name: 'p' } } }],
  ])('InferenceObjective: %s', (_name, obj) => {
    expect(parseObjective(obj)).toBeNull();
  });

  it.each<[string, Record<string, unknown>]>([
    ['rules that are not a list', { metadata: { name: 'r' }, spec: { poolRef: { name: 'p' }, rules: { a: 1 } } }],
    ['a negative weight', { metadata: { name: 'r' }, spec: { poolRef: { name: 'p' }, rules: [{ targets: [{ modelRewrite: 'm', weight: -1 }] }] } }],
    ['a target without a model', { metadata: { name: 'r' }, spec: { poolRef: { name: 'p' }, rules: [{ targets: [{ weight: 1 }] }] } }],
    ['a match without a value', { metadata: { name: 'r' }, spec: { poolRef: { name: 'p' }, rules: [{ matches: [{ model: { type: 'Exact' } }], targets: [{ modelRewrite: 'm' }] }] } }],
  ])('InferenceModelRewrite: %s', (_name, obj) => {
    expect(parseRewrite(obj)).toBeNull();
  });
});

describe('odd pod addresses never become routing destinations', () => {
  it.each(['10.0.0.1,10.0.0.2', '10.0.0.1:9999', 'evil.example.com', '', ' 10.0.0.1', '10.0.0.256', '[::1]'])('podIP %j', (ip) => {
    const pod = parsePod({ metadata: { name: 'a', labels: { app: 'x' } }, status: { podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] } });
    const pool = parseInferencePool({ metadata: { name: 'p' }, spec: { selector: { matchLabels: { app: 'x' } }, targetPorts: [{ number: 8000 }] } })!;
    expect(poolEndpoints(pool, pod === null ? [] : [pod])).toEqual([]);
  });
});

describe('generated objects (fast-check)', () => {
  const labels = mostly(fc.dictionary(fc.constantFrom('app', 'tier'), fc.constantFrom('x', 'y'), { minKeys: 1, maxKeys: 2 }));
  const meta = fc.record(
    {
      name: mostly(fc.constantFrom('a', 'b', 'c')),
      labels,
      annotations: fc.oneof(fc.constant(undefined), fc.record({ 'inference.networking.k8s.io/active-ports': mostly(fc.constantFrom('8000', '8000,8001', 'x,,9')) }), anyValue),
      deletionTimestamp: fc.option(fc.string(), { nil: undefined, freq: 4 }),
    },
    { requiredKeys: ['name'] },
  );
  const pod = fc.record(
    {
      metadata: mostly(meta),
      status: mostly(
        fc.record(
          {
            podIP: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('10.0.0.1,10.0.0.2', '10.0.0.1:80', 'pod.local', ''), fc.string({ maxLength: 20 }), anyValue),
            conditions: mostly(fc.array(fc.oneof(fc.record({ type: fc.constantFrom('Ready', 'Other'), status: fc.constantFrom('True', 'False') }), fc.constant(null)), { minLength: 1, maxLength: 2 })),
          },
          { requiredKeys: ['podIP', 'conditions'] },
        ),
      ),
    },
    { requiredKeys: ['metadata', 'status'] },
  );
  const port = mostly(fc.integer({ min: 7998, max: 8003 }));
  const pool = fc.record(
    {
      metadata: mostly(meta),
      spec: mostly(
        fc.record(
          { selector: fc.oneof(fc.record({ matchLabels: labels }), labels), targetPorts: mostly(fc.array(mostly(fc.record({ number: port })), { maxLength: 10 })), targetPortNumber: port, appProtocol: anyValue },
          { requiredKeys: ['selector'] },
        ),
      ),
    },
    { requiredKeys: ['metadata', 'spec'] },
  );

  it('parsers never throw; what they accept is usable; endpoints carry a plain IP and a valid port', () => {
    let endpoints = 0;
    fc.assert(
      fc.property(pool, fc.array(pod, { maxLength: 6 }), (poolObj, podObjs) => {
        const p = parseInferencePool(poolObj as Record<string, unknown>);
        const pods = podObjs.map((o) => parsePod(o as Record<string, unknown>)).filter((x): x is PodInfo => x !== null);
        if (p === null) return;
        expect(p.targetPorts.length).toBeGreaterThan(0);
        expect(p.targetPorts.length).toBeLessThanOrEqual(8);
        expect(Object.keys(p.selector).length).toBeGreaterThan(0);
        for (const ep of poolEndpoints(p, pods)) {
          endpoints++;
          expect(isIP(ep.address), ep.address).not.toBe(0);
          expect(Number.isInteger(ep.port) && ep.port >= 1 && ep.port <= 65535).toBe(true);
        }
      }),
      { numRuns: 500, seed: 1_2026 },
    );
    expect(endpoints).toBeGreaterThan(0);
  });

  it('objective and rewrite parsers never throw and refuse bad numbers', () => {
    const ref = fc.oneof(fc.record({ name: fc.oneof(fc.constant('p'), anyValue), group: anyValue }, { requiredKeys: [] }), anyValue);
    const objective = fc.record({ metadata: fc.oneof(meta, anyValue), spec: fc.oneof(fc.record({ priority: anyValue, poolRef: ref }, { requiredKeys: [] }), anyValue) }, { requiredKeys: [] });
    const target = fc.oneof(fc.record({ modelRewrite: fc.oneof(fc.constant('m'), anyValue), weight: anyValue }, { requiredKeys: [] }), anyValue);
    const rule = fc.oneof(fc.record({ matches: fc.oneof(fc.array(fc.oneof(fc.record({ model: fc.record({ type: anyValue, value: anyValue }, { requiredKeys: [] }) }), anyValue), { maxLength: 2 }), anyValue), targets: fc.oneof(fc.array(target, { maxLength: 2 }), anyValue) }, { requiredKeys: [] }), anyValue);
    const rewrite = fc.record({ metadata: fc.oneof(meta, anyValue), spec: fc.oneof(fc.record({ poolRef: ref, rules: fc.oneof(fc.array(rule, { maxLength: 3 }), anyValue) }, { requiredKeys: [] }), anyValue) }, { requiredKeys: [] });
    fc.assert(
      fc.property(objective, rewrite, (o, r) => {
        const obj = parseObjective(o as Record<string, unknown>);
        if (obj !== null) expect(Number.isInteger(obj.priority)).toBe(true);
        const rw = parseRewrite(r as Record<string, unknown>);
        if (rw !== null) for (const rule of rw.rules) for (const t of rule.targets) expect(t.weight >= 0 && Number.isFinite(t.weight) && t.model !== '').toBe(true);
      }),
      { numRuns: 500, seed: 2_2026 },
    );
  });
});
