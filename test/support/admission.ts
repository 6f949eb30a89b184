/** Helpers for admission tests: requests, a timer table the test fires, a capacity-driven detector. */
import type { AdmissionRequest } from '../../src/admission/admission.js';
import type { Timers } from '../../src/admission/timers.js';
import type { EndpointPool } from '../../src/pool/pool.js';
import type { SaturationDetector } from '../../src/scheduling/framework/saturation-detector.js';
import type { ManualClock } from './pool.js';
import type { FlowPolicies } from '../../src/admission/flow-controller.js';
import type { FairnessPolicy, OrderingPolicy } from '../../src/admission/framework/flow.js';
import { registerBuiltinPlugins } from '../../src/builtin-plugins.js';

/** An admission request; the prompt is a completions body's prompt. */
export function admissionRequest(o: Partial<AdmissionRequest> & { prompt?: string } = {}): AdmissionRequest {
  const body = Buffer.from(JSON.stringify({ model: o.incomingModel ?? 'm', prompt: o.prompt ?? 'hello' }));
  const start = body.indexOf('"prompt":"') + 10;
  return {
    requestId: 'r',
    priority: 0,
    fairnessId: 'default-flow',
    objective: '',
    incomingModel: 'm',
    targetModel: 'm',
    bytes: body.length,
    tokens: 10,
    body,
    promptStart: start,
    promptEnd: body.indexOf('"', start),
    candidates: () => [0],
    ...o,
  };
}

/** Timers the test fires by advancing a manual clock. */
export class ManualTimers implements Timers {
  private next = 1;
  readonly pending = new Map<number, { at: number; fn: () => void }>();
  /** Timers ever set (no polling: this stays small). */
  setCount = 0;

  constructor(private readonly clock: ManualClock) {}

  set(delayMs: number, fn: () => void): unknown {
    this.setCount++;
    const id = this.next++;
    this.pending.set(id, { at: this.clock.now() + delayMs, fn });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Moves the clock by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.clock.now() + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.pending) if (e[1].at <= end && (due === null || e[1].at < due[1].at)) due = e;
      if (due === null) break;
      this.pending.delete(due[0]);
      this.clock.t = Math.max(this.clock.t, due[1].at);
      due[1].fn();
    }
    this.clock.t = end;
  }
}

/** Saturation = (busy + pending) / capacity: the test sets `busy`; released requests count as pending. */
export class CapacityDetector implements SaturationDetector {
  busy = 0;
  checks = 0;
  constructor(public capacity: number) {}
  saturation(_pool: EndpointPool, _slots: ArrayLike<number>, count: number, _now: number, pending = 0): number {
    this.checks++;
    if (count === 0) return 1;
    return (this.busy + pending) / this.capacity;
  }
}

/** Waits for the next macrotask (released requests stop counting as pending). */
export const nextTick = () => new Promise<void>((r) => setImmediate(r));

/** Flow-control policies resolved by type through the built-in registry (as the core does for type references). */
export function builtinPolicies(): FlowPolicies {
  const registry = registerBuiltinPlugins();
  const handle = { pool: null as never, rng: Math.random };
  return {
    fairness: (ref) => registry.create(ref, ref, {}, handle, [], 'fairness') as FairnessPolicy,
    ordering: (ref) => registry.create(ref, ref, {}, handle, [], 'ordering') as OrderingPolicy,
  };
}
