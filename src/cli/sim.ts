/**
 * `switchboard sim`: runs a fleet of simulated vLLM pods on consecutive ports until interrupted.
 */
import { sbError } from '../errors.js';
import { PROFILE_KEYS, type EngineProfile } from '../workload/engine-profile.js';
import type { PodFaults } from '../sim/pod/faults.js';
import { startSimFleet, type SimFleet, type SimFleetOptions } from '../sim/pod/fleet.js';
import { formatAddress, naming } from './address-in-use.js';
import { formatHelp, givenNum, givenStr, list, num, parseFlags, rejectPositionals, type FlagSpec } from './flags.js';

/** `numGpuBlocks` -> `num-gpu-blocks`. */
function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const ENGINE_KEYS = PROFILE_KEYS.filter((k) => k !== 'name' && k !== 'model');

type FaultKey = 'errorRate' | 'errorStatus' | 'dropRate' | 'metricsFailRate' | 'metricsDelayMs' | 'metricsLagMs';

/** Fault flags with their bounds (rates are probabilities). */
const FAULT_FLAGS: ReadonlyArray<{ key: FaultKey; spec: Pick<FlagSpec, 'type' | 'min' | 'max' | 'help'> }> = [
  { key: 'errorRate', spec: { type: 'float', min: 0, max: 1, help: 'fault: probability an inference request is answered with --error-status at once' } },
  { key: 'errorStatus', spec: { type: 'int', min: 100, max: 599, help: 'fault: status of injected errors' } },
  { key: 'dropRate', spec: { type: 'float', min: 0, max: 1, help: 'fault: probability a streamed response is cut part-way' } },
  { key: 'metricsFailRate', spec: { type: 'float', min: 0, max: 1, help: 'fault: probability /metrics answers 500' } },
  { key: 'metricsDelayMs', spec: { type: 'float', min: 0, help: 'fault: delay before /metrics answers, ms' } },
  { key: 'metricsLagMs', spec: { type: 'float', min: 0, help: 'fault: /metrics shows the engine state as it was this many ms ago' } },
];

/** Flags of `switchboard sim`. */
export const SIM_FLAGS: FlagSpec[] = [
  { name: 'pods', type: 'int', min: 1, max: 1024, default: 1, help: 'number of pods' },
  { name: 'base-port', type: 'int', min: 0, max: 65535, default: 8000, help: 'port of the first pod; pod i listens on base-port+i (0: free ports)' },
  { name: 'host', type: 'string', default: '127.0.0.1', help: 'listen address' },
  { name: 'profile', type: 'string', default: 'llama-3.1-8b-h100', help: 'engine profile' },
  { name: 'model', type: 'string', default: '', help: "served model name (default: the profile's model)" },
  { name: 'lora-modules', type: 'list', default: [], help: 'adapters to register, "name[=path],..."' },
  { name: 'lora-adapters', type: 'int', min: 0, max: 100_000, default: 0, help: "also register adapter-0 ... adapter-(N-1) (the scenarios' names)" },
  { name: 'chat-max-tokens', type: 'int', min: 1, default: 128, help: 'max_tokens for chat requests that omit it' },
  { name: 'stream-chunk-tokens', type: 'int', min: 1, default: 1, help: 'tokens per SSE event' },
  { name: 'seed', type: 'int', min: 0, default: 1, help: 'seed of fault injection' },
  { name: 'engine', type: 'enum', values: ['vllm', 'sglang', 'jetstream'], default: 'vllm', help: 'model server to imitate: metric names and native endpoints (jetstream: JetStream metric names, for the TPU profile)' },
  { name: 'kv-events', type: 'bool', default: false, help: 'publish vLLM KV-cache events over ZMQ from each pod\'s block pool' },
  { name: 'kv-events-port', type: 'int', min: 0, max: 65535, default: 5557, help: 'KV-events PUB port of pod 0; pod i uses port+i (0: free ports)' },
  { name: 'kv-events-replay-port', type: 'int', min: -1, max: 65535, default: -1, help: 'replay ROUTER port of pod 0; pod i uses port+i (-1: no replay, 0: free ports)' },
  { name: 'kv-events-encoding', type: 'enum', values: ['map', 'array'], default: 'map', help: 'events as maps keyed by type (vLLM after #42892) or tagged arrays (before)' },
  { name: 'kv-events-hashes', type: 'enum', values: ['int', 'bytes'], default: 'int', help: 'block hashes as uint64 ints or digest bytes (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=0)' },
  { name: 'kv-events-replay-layout', type: 'enum', values: ['topic', 'legacy'], default: 'topic', help: 'replay frames with the topic (v0.26.0 on) or without (before vllm#45177)' },
  ...ENGINE_KEYS.map(
    (k): FlagSpec =>
      k === 'enablePrefixCaching'
        ? { name: kebab(k), type: 'bool', default: null, help: 'engine: automatic prefix caching (overrides the profile)' }
        : { name: kebab(k), type: 'float', min: 0, default: null, help: `engine: ${k} (overrides the profile)` },
  ),
  ...FAULT_FLAGS.map((f): FlagSpec => ({ name: kebab(f.key), default: null, ...f.spec })),
];

const HELP = formatHelp('switchboard sim [flags]', 'Runs simulated vLLM (or SGLang, JetStream) pods (OpenAI API, LoRA endpoints, /health, /metrics), one port each.', SIM_FLAGS);

/** Parses `switchboard sim` flags into fleet options; throws SB_ERR_FLAG on bad input. */
export function parseSimFlags(argv: string[]): SimFleetOptions | 'help' {
  const flags = parseFlags(SIM_FLAGS, argv);
  if (flags.help) return 'help';
  rejectPositionals(flags);

  const engine: Partial<EngineProfile> = {};
  for (const k of ENGINE_KEYS) {
    const flag = kebab(k);
    if (flags.given.has(flag)) (engine as Record<string, number | boolean>)[k] = flags.values[flag] as number | boolean;
  }
  const faults: Partial<PodFaults> = {};
  for (const f of FAULT_FLAGS) {
    const v = givenNum(flags, kebab(f.key));
    if (v !== undefined) faults[f.key] = v;
  }
  const loraModules = (list(flags, 'lora-modules') ?? []).map((s) => {
    const eq = s.indexOf('=');
    return eq < 0 ? { name: s } : { name: s.slice(0, eq), path: s.slice(eq + 1) };
  });
  const adapters = [...loraModules, ...Array.from({ length: num(flags, 'lora-adapters') }, (_, i) => ({ name: `adapter-${i}` }))];
  const pods = num(flags, 'pods');
  const basePort = num(flags, 'base-port');
  if (basePort !== 0 && basePort + pods - 1 > 65535) {
    throw sbError('SB_ERR_FLAG', 'base-port', `pods would listen on ${basePort}..${basePort + pods - 1}, past port 65535; lower --base-port or --pods`);
  }
  const engineType = flags.values.engine as 'vllm' | 'sglang' | 'jetstream';
  return {
    engineType,
    pods,
    basePort,
    host: givenStr(flags, 'host'),
    profile: givenStr(flags, 'profile'),
    modelName: givenStr(flags, 'model'),
    loraModules: adapters,
    chatMaxTokens: givenNum(flags, 'chat-max-tokens'),
    streamChunkTokens: givenNum(flags, 'stream-chunk-tokens'),
    seed: givenNum(flags, 'seed'),
    engine,
    faults,
    ...(flags.values['kv-events'] === true
      ? {
          kvEvents: {
            port: num(flags, 'kv-events-port'),
            replayPort: num(flags, 'kv-events-replay-port'),
            encoding: flags.values['kv-events-encoding'] as 'map' | 'array',
            hashes: flags.values['kv-events-hashes'] as 'int' | 'bytes',
            replayLayout: flags.values['kv-events-replay-layout'] as 'topic' | 'legacy',
          },
        }
      : {}),
  };
}

/** Runs the fleet until SIGINT/SIGTERM (or `signal` aborts); returns the exit code. */
export async function runSim(argv: string[], signal?: AbortSignal): Promise<number> {
  const opts = parseSimFlags(argv);
  if (opts === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  // Pod i listens on base-port+i; a taken one names the flag to move.
  const host = opts.host ?? '127.0.0.1';
  const fleet: SimFleet = await naming(() => startSimFleet(opts), formatAddress(host, opts.basePort ?? 0), 'base-port');
  for (const p of fleet.pods) {
    const ev = p.pod.kvEvents;
    const events = ev === null ? '' : `, KV events tcp://${host}:${ev.port}${ev.replayPort > 0 ? ` replay ${ev.replayPort}` : ''}`;
    process.stdout.write(`sim pod ${p.index}: ${p.url} (model ${fleet.modelName}, ${opts.engineType ?? 'vllm'} API${events})\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
  await fleet.close();
  return 0;
}
