import { createSwitchboard } from '../../src/switchboard.js';
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../src/admission/admission.js';
import { FlowController, type QueueOutcome } from '../../src/admission/flow-controller.js';
import { Flow, QueuedRequest } from '../../src/admission/framework/flow.js';
import { EdfQueue } from '../../src/admission/plugins/edf-ordering-policy/index.js';
import { builtinPolicies } from '../support/admission.js';
import { parseConfig } from '../../src/config/load.js';
import type { SwitchboardError } from '../../src/errors.js';
import { admissionRequest, CapacityDetector, ManualTimers, nextTick } from '../support/admission.js';
import { ManualClock, makePool } from '../support/pool.js';

/** A flow controller over a one-pod pool whose saturation the test drives. */
function setup(flowControl = '{}', capacity = 1) {
  const clock = new ManualClock();
  const pool = makePool([{}], clock);
  const timers = new ManualTimers(clock);
  const detector = new CapacityDetector(capacity);
  const spec = parseConfig(`featureGates: [flowControl]\nflowControl: ${flowControl}`).flowControl!;
  const outcomes: string[] = [];
  const queued = { requests: 0, bytes: 0 };
  const fc = new FlowController({
    pool,
    detector,
    spec,
    timers,
    policies: builtinPolicies(),
    observer: {
      queueChanged: (_r, n, b) => {
        queued.requests += n;
        queued.bytes += b;
      },
      left: (r: AdmissionRequest, o: QueueOutcome) => outcomes.push(`${r.requestId}:${o}`),
      dispatchCycle: () => {},
    },
  });
  /** Completion order: the id, or `id:code` for a rejection. */
  const order: string[] = [];
  /** Admits like the director: an admitted request is placed on the pool (busy) when the verdict arrives. */
  const submit = (requestId: string, o: Partial<AdmissionRequest> = {}, reportPlaced = true) => {
    const r = admissionRequest({ requestId, ...o });
    const v = fc.admit(r);
    const note = (e: SwitchboardError | null) => {
      if (e === null) {
        detector.busy++;
        if (reportPlaced) fc.placed(r);
      }
      order.push(e === null ? requestId : `${requestId}:${e.code}`);
    };
    if (v instanceof Promise) void v.then(note);
    else note(v);
    return v;
  };
  /** `n` times: one running request finishes, then a tick passes. */
  const release = async (n: number) => {
    for (let i = 0; i < n; i++) {
      detector.busy--;
      fc.poke();
      await nextTick();
    }
  };
  detector.busy = capacity; // saturated: `capacity` requests already running
  return { fc, clock, timers, detector, order, outcomes, queued, submit, release };
}

describe('flow control', () => {
  it('admits at once, without queueing, while there is room and nothing waits', () => {
    const t = setup();
    t.detector.busy = 0;
    expect(t.submit('a')).toBeNull();
    expect(t.detector.busy).toBe(1);
    expect(t.fc.size).toBe(0);
    expect(t.outcomes).toEqual(['a:Dispatched']);
  });

  it('holds requests while saturated and releases them as capacity returns (late binding)', async () => {
    const t = setup();
    const v = t.submit('a');
    expect(v).toBeInstanceOf(Promise);
    expect(t.fc.size).toBe(1);
    await nextTick();
    expect(t.order).toEqual([]);
    await t.release(1);
    expect(t.order).toEqual(['a']);
    expect(t.fc.size).toBe(0);
    expect(t.queued).toEqual({ requests: 0, bytes: 0 });
  });

  it('serves bands in strict priority order, FCFS inside a flow', async () => {
    const t = setup();
    t.submit('low1', { priority: 0 });
    t.submit('low2', { priority: 0 });
    t.submit('high1', { priority: 10 });
    t.submit('mid1', { priority: 5 });
    t.submit('high2', { priority: 10 });
    await t.release(5);
    expect(t.order).toEqual(['high1', 'high2', 'mid1', 'low1', 'low2']);
  });

  it('releases only as many requests per tick as the detector has room for (pending counted)', async () => {
    const t = setup('{}', 3);
    for (const id of ['a', 'b', 'c', 'd', 'e']) t.submit(id);
    t.detector.busy = 0;
    t.fc.poke();
    await nextTick();
    expect(t.order).toEqual(['a', 'b', 'c']);
    await nextTick();
    expect(t.order).toEqual(['a', 'b', 'c']);
  });

  it('a released request stops counting as pending once placed: a finish in the same tick releases the next', async () => {
    const t = setup();
    t.submit('a');
    t.submit('b');
    t.detector.busy = 0;
    t.fc.poke(); // releases a
    await Promise.resolve();
    expect(t.order).toEqual(['a']); // placed: busy is 1 again, pending 0
    t.detector.busy--; // a finishes in the same tick
    t.fc.poke();
    await Promise.resolve();
    expect(t.order).toEqual(['a', 'b']);
  });

  it('safety net: a released request never reported placed stops counting on the next tick, and dispatch looks again', async () => {
    const t = setup();
    t.submit('a', {}, false);
    t.submit('b', {}, false);
    t.detector.busy = 0;
    t.fc.poke(); // releases a; not reported placed
    await Promise.resolve();
    t.detector.busy--; // a finishes in the same tick: room, but a still counts as pending
    t.fc.poke();
    await Promise.resolve();
    expect(t.order).toEqual(['a']);
    await nextTick();
    expect(t.order).toEqual(['a', 'b']);
  });

  const arrivals: Array<[string, string]> = [
    ['A1', 'A'], ['A2', 'A'], ['A3', 'A'], ['A4', 'A'], ['A5', 'A'],
    ['B1', 'B'],
    ['C1', 'C'], ['C2', 'C'],
  ];
  it('round-robin fairness: backlogged flows take turns, so a noisy flow gets one turn in three', async () => {
    const t = setup('{priorityBands: [{priority: 0, fairnessPolicyRef: round-robin-fairness-policy}]}');
    for (const [id, flow] of arrivals) t.submit(id, { fairnessId: flow });
    await t.release(8);
    expect(t.order).toEqual(['A1', 'B1', 'C1', 'A2', 'C2', 'A3', 'A4', 'A5']);
  });

  it('global-strict fairness (the default): one FCFS queue across flows', async () => {
    const t = setup();
    for (const [id, flow] of arrivals) t.submit(id, { fairnessId: flow });
    await t.release(8);
    expect(t.order).toEqual(arrivals.map(([id]) => id));
  });

  it('round-robin resolves to a declared plugin name and a new flow joins the rotation at the end', async () => {
    const cfg = `{priorityBands: [{priority: 0, fairnessPolicyRef: fair}]}`;
    const spec = parseConfig(`plugins: [{type: round-robin-fairness-policy, name: fair}]\nflowControl: ${cfg}`).flowControl!;
    expect(spec.priorityBands[0].fairness).toBe('fair');
    // The core resolves the name to the declared plugin, and refuses a reference of the wrong kind.
    const core = (text: string) => createSwitchboard({ config: parseConfig(`featureGates: [flowControl]\n${text}`), scrape: false, telemetry: false });
    expect(core(`plugins: [{type: round-robin-fairness-policy, name: fair}]\nflowControl: ${cfg}`).flowControl).not.toBeNull();
    expect(() => core('flowControl: {priorityBands: [{priority: 0, fairnessPolicyRef: fcfs-ordering-policy}]}')).toThrow(/fairnessPolicyRef "fcfs-ordering-policy": .*belongs to extension point "ordering", not "fairness"/);
    expect(() => core('flowControl: {priorityBands: [{priority: 0, orderingPolicyRef: fcfs-orderin-policy}]}')).toThrow(/orderingPolicyRef "fcfs-orderin-policy": unknown plugin type "fcfs-orderin-policy" \(did you mean "fcfs-ordering-policy"\?\)/);
    const t = setup('{priorityBands: [{priority: 0, fairnessPolicyRef: round-robin-fairness-policy}]}');
    t.submit('A1', { fairnessId: 'A' });
    t.submit('A2', { fairnessId: 'A' });
    await t.release(1);
    t.submit('B1', { fairnessId: 'B' });
    await t.release(2);
    expect(t.order).toEqual(['A1', 'A2', 'B1']);
  });

  it('rejects with 429 over the global and per-band request limits', () => {
    const t = setup('{maxRequests: 3, priorityBands: [{priority: 5, maxRequests: 1}]}');
    t.submit('a', { priority: 5 });
    const over = t.submit('b', { priority: 5 }) as SwitchboardError;
    expect([over.status, over.code, over.message]).toEqual([429, 'SB_ERR_QUEUE_FULL', 'flow control queue full: priority band 5 holds 1 requests']);
    t.submit('c');
    t.submit('d');
    expect((t.submit('e') as SwitchboardError).message).toBe('flow control queue full: 3 requests queued');
    expect(t.outcomes).toEqual(['b:RejectedCapacity', 'e:RejectedCapacity']);
  });

  it('rejects a flow over its per-flow limit while other flows of the band still get in', () => {
    const t = setup('{priorityBands: [{priority: 0, maxRequestsPerFlow: 2}]}');
    t.submit('n1', { fairnessId: 'noisy' });
    t.submit('n2', { fairnessId: 'noisy' });
    expect((t.submit('n3', { fairnessId: 'noisy' }) as SwitchboardError).message).toBe('flow control queue full: flow noisy holds 2 requests in priority band 0');
    expect(t.submit('q1', { fairnessId: 'quiet' })).toBeInstanceOf(Promise);
  });

  it('rejects with 429 over the byte limits (Kubernetes quantities accepted)', () => {
    const t = setup('{maxBytes: 100, defaultPriorityBand: {maxBytes: 1Ki}}');
    const bytes = admissionRequest().bytes; // 33
    t.submit('a');
    t.submit('b');
    t.submit('c');
    expect(bytes * 3).toBeLessThanOrEqual(100);
    expect((t.submit('d') as SwitchboardError).message).toBe('flow control queue full: 100 bytes queued');
  });

  it('evicts a request whose TTL ran out with 503, at the TTL and not before', async () => {
    const t = setup('{defaultRequestTTL: 1s}');
    t.submit('a');
    t.timers.advance(500);
    t.submit('b');
    t.timers.advance(499);
    await nextTick();
    expect(t.order).toEqual([]);
    t.timers.advance(1);
    await nextTick();
    expect(t.order).toEqual(['a:SB_ERR_QUEUE_TTL']);
    t.timers.advance(500);
    await nextTick();
    expect(t.order).toEqual(['a:SB_ERR_QUEUE_TTL', 'b:SB_ERR_QUEUE_TTL']);
    expect(t.outcomes).toEqual(['a:EvictedTTL', 'b:EvictedTTL']);
    expect(t.fc.size).toBe(0);
  });

  it('does not poll: one timer at a time while saturated, none once the queue is empty', async () => {
    const t = setup('{defaultRequestTTL: 10s, recheckInterval: 100ms}');
    t.submit('a');
    t.submit('b');
    t.timers.advance(1000);
    expect(t.timers.pending.size).toBe(1);
    expect(t.timers.setCount).toBeLessThanOrEqual(11);
    await t.release(2);
    expect(t.order).toEqual(['a', 'b']);
    expect(t.timers.pending.size).toBe(0);
    const checks = t.detector.checks;
    t.timers.advance(60_000);
    await nextTick();
    expect(t.detector.checks).toBe(checks);
  });

  it('releases a queued request at once when its client goes away (503), leaving the rest queued', async () => {
    const t = setup('{priorityBands: [{priority: 0, fairnessPolicyRef: round-robin-fairness-policy}]}');
    const gone = new AbortController();
    t.submit('a', { fairnessId: 'A' });
    t.submit('b', { fairnessId: 'B', signal: gone.signal });
    t.submit('c', { fairnessId: 'C' });
    gone.abort();
    await nextTick();
    expect(t.order).toEqual(['b:SB_ERR_CLIENT_GONE']);
    expect(t.fc.size).toBe(2);
    await t.release(2);
    expect(t.order).toEqual(['b:SB_ERR_CLIENT_GONE', 'a', 'c']);
    const already = new AbortController();
    already.abort();
    expect((t.submit('d', { signal: already.signal }) as SwitchboardError).status).toBe(503);
  });

  it('sheds sheddable requests with 429 while saturated by default, never queueing them', async () => {
    const t = setup('{}', 2);
    expect((t.submit('s', { priority: -1 }) as SwitchboardError).code).toBe('SB_ERR_SHED');
    t.submit('a');
    t.detector.busy = 0;
    // Room for two again, but a request waits: it goes first, then the sheddable one fits, then none.
    expect(t.submit('s2', { priority: -1 })).toBeNull();
    expect((t.submit('s3', { priority: -1 }) as SwitchboardError).code).toBe('SB_ERR_SHED');
    await nextTick();
    expect(t.order).toEqual(['s:SB_ERR_SHED', 's2', 's3:SB_ERR_SHED', 'a']);
  });

  it('queues sheddable requests in their own lowest band with sheddable: queue (the Go EPP behaviour)', async () => {
    const t = setup('{sheddable: queue}');
    t.submit('s', { priority: -1 });
    t.submit('a', { priority: 0 });
    await t.release(2);
    expect(t.order).toEqual(['a', 's']);
  });

  it('EDF ordering serves the earliest deadline first, FCFS among equal deadlines', () => {
    const q = new EdfQueue();
    const flow = new Flow('f', new EdfQueue());
    const item = (id: string, deadline: number, seq: number) => new QueuedRequest(admissionRequest({ requestId: id }), flow, 0, deadline, seq, () => {});
    for (const [id, d, s] of [['late', 300, 0], ['soon', 100, 1], ['mid', 200, 2], ['soon2', 100, 3], ['none', Infinity, 4]] as const) q.push(item(id, d, s));
    const out: string[] = [];
    for (let i = q.pop(); i !== null; i = q.pop()) out.push(i.req.requestId);
    expect(out).toEqual(['soon', 'soon2', 'mid', 'late', 'none']);
  });

  it('EDF band: dispatches by deadline and skips requests that left early', async () => {
    const t = setup('{defaultRequestTTL: 5s, priorityBands: [{priority: 0, orderingPolicyRef: edf-ordering-policy}]}');
    const gone = new AbortController();
    t.submit('a', { signal: gone.signal });
    t.submit('b');
    gone.abort();
    await t.release(1);
    expect(t.order).toEqual(['a:SB_ERR_CLIENT_GONE', 'b']);
  });
});
