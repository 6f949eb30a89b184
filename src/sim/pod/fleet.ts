/**
 * A fleet of simulated vLLM pods, one HTTP port each: the programmatic API behind
 * `switchboard sim`, the demo fleet of `switchboard serve --demo`, and integration tests.
 */
import type { KvEventsPublisherOptions } from './kv-events-publisher.js';
import { resolveProfile, type EngineProfile } from '../../workload/engine-profile.js';
import type { PodFaults } from './faults.js';
import { SimPod, type SimEngineType } from './server.js';

/** Options of a simulated fleet. */
export interface SimFleetOptions {
  /** Number of pods (default 1). */
  pods?: number;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Port of the first pod; pod i listens on basePort + i. 0 (default) picks free ports. */
  basePort?: number;
  /** Profile name (default `llama-3.1-8b-h100`). */
  profile?: string;
  /** Overrides of profile constants, e.g. `{ numGpuBlocks: 4000 }`. */
  engine?: Partial<EngineProfile>;
  /** Served model name (default: the profile's model). */
  modelName?: string;
  /** LoRA adapters every pod registers at start. */
  loraModules?: ReadonlyArray<{ name: string; path?: string }>;
  /** `max_tokens` for chat requests that omit it. */
  chatMaxTokens?: number;
  /** Tokens per SSE chunk. */
  streamChunkTokens?: number;
  /** Faults for every pod, or a function of the pod index. */
  faults?: Partial<PodFaults> | ((index: number) => Partial<PodFaults>);
  /** Seed for fault dice (pod i uses seed + i). */
  seed?: number;
  /** Model server every pod imitates (default `vllm`). */
  engineType?: SimEngineType;
  /** KV events: pod i publishes on `port + i` (and replays on `replayPort + i` when >= 0); 0 ports pick free ones. */
  kvEvents?: Partial<KvEventsPublisherOptions>;
}

/** One running pod of a fleet. */
export interface SimFleetPod {
  index: number;
  address: string;
  port: number;
  /** `http://address:port`. */
  url: string;
  /** The pod itself (engine state, faults). */
  pod: SimPod;
}

/** A running fleet. */
export interface SimFleet {
  pods: SimFleetPod[];
  /** The served base model. */
  modelName: string;
  /** Stops every pod. */
  close(): Promise<void>;
}

/** Pod `i`'s publisher options: the fleet's ports offset by the pod index (as vLLM offsets data-parallel ranks). */
function podKvEvents(o: Partial<KvEventsPublisherOptions>, i: number): Partial<KvEventsPublisherOptions> {
  const port = o.port ?? 0;
  const replay = o.replayPort ?? -1;
  return { ...o, port: port === 0 ? 0 : port + i, replayPort: replay <= 0 ? replay : replay + i };
}

/** Starts `options.pods` simulated pods and resolves once all listen. */
export async function startSimFleet(options: SimFleetOptions = {}): Promise<SimFleet> {
  const n = options.pods ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new RangeError(`pods must be an integer in [1, 1024], got ${n}`);
  const profile = resolveProfile(options.profile, options.engine);
  const base = options.basePort ?? 0;
  const started: SimPod[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const faults = typeof options.faults === 'function' ? options.faults(i) : options.faults;
      started.push(
        await SimPod.start({
          host: options.host ?? '127.0.0.1',
          port: base === 0 ? 0 : base + i,
          profile,
          modelName: options.modelName,
          loraModules: options.loraModules,
          chatMaxTokens: options.chatMaxTokens,
          streamChunkTokens: options.streamChunkTokens,
          faults,
          seed: (options.seed ?? 1) + i,
          index: i,
          engineType: options.engineType,
          ...(options.kvEvents === undefined ? {} : { kvEvents: podKvEvents(options.kvEvents, i) }),
        }),
      );
    }
  } catch (err) {
    await Promise.all(started.map((p) => p.close()));
    throw err;
  }
  return {
    pods: started.map((pod, index) => ({ index, address: pod.address, port: pod.port, url: pod.url, pod })),
    modelName: started[0].modelName,
    close: async () => {
      await Promise.all(started.map((p) => p.close()));
    },
  };
}
