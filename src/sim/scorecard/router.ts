/**
 * The scorecard's narrow view of a routing policy: given a request, pick a pod (or reject), and
 * hear about metrics scrapes and completions. Baselines live here; policies that run the real
 * Switchboard director live in `director-router.ts`.
 */
import type { Timers } from '../../admission/timers.js';
import { Rng } from '../../util/random.js';
import type { EngineState } from '../engine/engine.js';
import type { WorkRequest } from '../../workload/workload.js';
import type { PickTrace } from './pick-trace.js';

/** What a router sees of one request. */
export interface RouteInput {
  work: WorkRequest;
  /** OpenAI request path. */
  path: string;
  /** OpenAI JSON body, as a client would send it. */
  body: Buffer;
  /** Prompt tokens by the simulator's tokenizer. */
  promptTokens: number;
  /** The prompt's token ids (what a precise prefix index keys requests by). */
  tokens?: Int32Array;
  /** Virtual time, ms. */
  now: number;
}

/** How a routed request ended. */
export interface RouteOutcome {
  ok: boolean;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

/** A router's answer. `done` is called exactly once when the request ends. */
export type RouteDecision =
  | {
      kind: 'route';
      pod: number;
      done: ((outcome: RouteOutcome) => void) | null;
      /** Called when the first output token is produced (a streamed response's first bytes). */
      firstToken?: (() => void) | null;
      /** Which term moved the pick, when the run is traced and the policy explains (the director's). */
      pick?: PickTrace;
    }
  | { kind: 'reject'; status: number; error: string };

/** A routing policy under test. */
export interface Router {
  readonly name: string;
  /** Picks a pod; may be async (the real director is). */
  route(input: RouteInput): RouteDecision | Promise<RouteDecision>;
  /** A metrics scrape of `pod` completed with `state` (already lagged as configured). */
  onScrape?(pod: number, state: EngineState, now: number): void;
  /** A scrape of `pod` was sent (for in-flight accounting that knows what metrics miss). */
  onScrapeStarted?(pod: number, now: number): void;
  /** One KV-event message from `pod` (vLLM wire format), after the modelled delivery delay; absent: the router wants none. */
  onKvEvents?(pod: number, seq: number, payload: Uint8Array): void;
  /** Releases resources at the end of a run. */
  close?(): void | Promise<void>;
}

/** What a router factory learns about the run. */
export interface RouterContext {
  /** Number of simulated pods (indices 0..pods-1). */
  pods: number;
  /** Pool of each pod when the fleet has several (`fleet.mix[].pool`); absent when none is named. */
  podPools?: readonly string[];
  /** Run seed; seed tie-breaks from it. */
  seed: number;
  /** The run's virtual clock (ms). */
  clock: { now(): number };
  /** Metrics scrape interval of the run, ms. */
  scrapeIntervalMs: number;
  /** Virtual-time timers (flow-control TTLs and re-checks), when the runner provides them. */
  timers?: Timers;
  /** InferenceObjectives of the environment (scenario `objectives`), for director policies. */
  objectives?: ReadonlyArray<{ name: string; priority: number }>;
  /** The run is traced: policies that can explain a pick attach it to their decisions. */
  explain?: boolean;
}

/** Builds a fresh router for one run. */
export type RouterFactory = (ctx: RouterContext) => Router | Promise<Router>;

/** Round-robin over pods in order. */
export function roundRobin(pods: number): Router {
  let next = 0;
  return {
    name: 'round-robin',
    route: () => {
      const pod = next;
      next = (next + 1) % pods;
      return { kind: 'route', pod, done: null };
    },
  };
}

/** Uniformly random pod (seeded). */
export function randomRouter(pods: number, seed: number): Router {
  const rng = new Rng(seed ^ 0x5eed);
  return { name: 'random', route: () => ({ kind: 'route', pod: rng.int(0, pods - 1), done: null }) };
}

/** Fewest requests in flight from this router (ties broken at random, seeded). */
export function leastRequest(pods: number, seed: number): Router {
  const inflight = new Int32Array(pods);
  const rng = new Rng(seed ^ 0x1ea57);
  const ties: number[] = [];
  return {
    name: 'least-request',
    route: () => {
      let best = Infinity;
      ties.length = 0;
      for (let i = 0; i < pods; i++) {
        if (inflight[i] < best) {
          best = inflight[i];
          ties.length = 0;
        }
        if (inflight[i] === best) ties.push(i);
      }
      const pod = ties[ties.length === 1 ? 0 : rng.int(0, ties.length - 1)];
      inflight[pod]++;
      return { kind: 'route', pod, done: () => void inflight[pod]-- };
    },
  };
}

/** Baseline policies by name. */
export const BASELINES: Readonly<Record<string, RouterFactory>> = Object.freeze({
  'round-robin': (c: RouterContext) => roundRobin(c.pods),
  random: (c: RouterContext) => randomRouter(c.pods, c.seed),
  'least-request': (c: RouterContext) => leastRequest(c.pods, c.seed),
});
