/**
 * A fleet of simulated vLLM pods, one HTTP port each: the programmatic API behind
 * `switchboard sim`, the demo fleet of `switchboard serve --demo`, and integration tests.
 */
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
