/** The four flow-control policies through their contracts (FlowQueue, FlowPicker), table-driven. */
import { describe, expect, it } from 'vitest';
import { Params } from '../../../src/framework/params.js';
import { Flow, QueuedRequest, type FairnessPolicy, type OrderingPolicy } from '../../../src/admission/framework/flow.js';
import type { AdmissionRequest } from '../../../src/admission/admission.js';
import { edfOrderingPolicy } from '../../../src/admission/plugins/edf-ordering-policy/index.js';
import { fcfsOrderingPolicy } from '../../../src/admission/plugins/fcfs-ordering-policy/index.js';
import { globalStrictFairnessPolicy } from '../../../src/admission/plugins/global-strict-fairness-policy/index.js';
import { roundRobinFairnessPolicy } from '../../../src/admission/plugins/round-robin-fairness-policy/index.js';

const handle = { pool: null as never, rng: Math.random };
const make = <T>(f: (n: string, p: Params, h: typeof handle) => T) => f('p', new Params('p', {}), handle);
const req = (id: string) => ({ requestId: id, bytes: 0 }) as AdmissionRequest;

/** Queues items (id, deadline, seq) into `flow` and returns the pop order. */
function drain(policy: OrderingPolicy, items: Array<[string, number, number]>, dead: string[] = []): string[] {
  const flow = new Flow('f', policy.newQueue());
  for (const [id, deadline, seq] of items) {
    const q = new QueuedRequest(req(id), flow, 0, deadline, seq, () => {});
    if (dead.includes(id)) q.live = false;
    flow.queue.push(q);
  }
  const out: string[] = [];
  for (let q = flow.queue.pop(); q !== null; q = flow.queue.pop()) out.push(q.req.requestId);
  return out;
}

describe('ordering policies', () => {
  const items: Array<[string, number, number]> = [['a', 30, 0], ['b', 10, 1], ['c', 20, 2], ['d', 10, 3]];
  it.each([
    { name: 'fcfs: arrival order', policy: make(fcfsOrderingPolicy), want: ['a', 'b', 'c', 'd'] },
    { name: 'edf: deadline, then arrival', policy: make(edfOrderingPolicy), want: ['b', 'd', 'c', 'a'] },
  ])('$name', ({ policy, want }) => {
    expect(drain(policy, items)).toEqual(want);
  });

  it.each([make(fcfsOrderingPolicy), make(edfOrderingPolicy)])('$typedName.type skips requests that left', (policy) => {
    expect(drain(policy, items, ['b', 'c'])).toEqual(policy.typedName.type === 'edf-ordering-policy' ? ['d', 'a'] : ['a', 'd']);
  });
});

describe('fairness policies', () => {
  /** Flows A (3 requests), B (1), C (2) in a band; the dispatch order of `policy`. */
  function order(policy: FairnessPolicy): string[] {
    const ordering = make(fcfsOrderingPolicy);
    const flows: Flow[] = [];
    let seq = 0;
    for (const [id, n] of [['A', 3], ['B', 1], ['C', 2]] as const) {
      const f = new Flow(id, ordering.newQueue());
      for (let i = 0; i < n; i++) f.queue.push(new QueuedRequest(req(`${id}${i + 1}`), f, 0, Infinity, seq++, () => {}));
      f.live = n;
      flows.push(f);
    }
    const picker = policy.newPicker();
    const out: string[] = [];
    for (let next = picker.next(flows); next !== null; next = flows.length > 0 ? picker.next(flows) : null) {
      out.push(next.req.requestId);
      next.flow.queue.pop();
      picker.dispatched(flows, next);
      if (--next.flow.live === 0) {
        const i = flows.indexOf(next.flow);
        flows.splice(i, 1);
        picker.removed(flows, i);
      }
    }
    return out;
  }

  it.each([
    { name: 'global strict: one FCFS queue over all flows', policy: make(globalStrictFairnessPolicy), want: ['A1', 'A2', 'A3', 'B1', 'C1', 'C2'] },
    { name: 'round robin: one dispatch per flow per turn', policy: make(roundRobinFairnessPolicy), want: ['A1', 'B1', 'C1', 'A2', 'C2', 'A3'] },
  ])('$name', ({ policy, want }) => {
    expect(order(policy)).toEqual(want);
  });
});
