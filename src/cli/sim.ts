/**
 * `switchboard sim`: runs a fleet of simulated vLLM pods on consecutive ports until interrupted.
 */
import { sbError } from '../errors.js';
import { PROFILE_KEYS, type EngineProfile } from '../sim/engine/profile.js';
import type { PodFaults } from '../sim/pod/faults.js';
import { startSimFleet, type SimFleet, type SimFleetOptions } from '../sim/pod/fleet.js';
import { numberFlag, parseSubcommandFlags, stringFlag } from './subcommand-flags.js';

/** `numGpuBlocks` -> `num-gpu-blocks`. */
function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const ENGINE_FLAGS = PROFILE_KEYS.filter((k) => k !== 'name' && k !== 'model');
const FAULT_FLAGS = ['errorRate', 'errorStatus', 'dropRate', 'metricsFailRate', 'metricsDelayMs', 'metricsLagMs'] as const;

const USAGE = `usage: switchboard sim [flags]

Runs simulated vLLM (or SGLang) pods (OpenAI API, LoRA endpoints, /health, /metrics), one port each.

flags:
  --pods N                 number of pods (default 1)
  --base-port P            port of the first pod; pod i listens on P+i (default 8000; 0 = ephemeral)
  --host ADDR              listen address (default 127.0.0.1)
  --profile NAME           engine profile (default llama-3.1-8b-h100)
  --model NAME             served model name (default: the profile's model)
  --lora-modules LIST      adapters to register, "name[=path],..."
  --lora-adapters N        also register adapter-0 ... adapter-(N-1) (the scenarios' names)
  --chat-max-tokens N      max_tokens for chat requests that omit it (default 128)
  --stream-chunk-tokens N  tokens per SSE event (default 1)
  --seed N                 seed of fault injection (default 1)
  --engine vllm|sglang     model server to imitate: metric names and native endpoints (default vllm)
engine constants (override the profile): ${ENGINE_FLAGS.map((k) => `--${kebab(k)}`).join(' ')}
faults (every pod): ${FAULT_FLAGS.map((k) => `--${kebab(k)}`).join(' ')}
`;

/** Parses `switchboard sim` flags into fleet options; throws SB_ERR_FLAG on bad input. */
export function parseSimFlags(argv: string[]): SimFleetOptions | 'help' {
  const values = parseSubcommandFlags('sim', argv, [
    'pods',
    'base-port',
    'host',
    'profile',
    'model',
    'lora-modules',
    'lora-adapters',
    'chat-max-tokens',
    'stream-chunk-tokens',
    'seed',
    'engine',
    ...[...ENGINE_FLAGS, ...FAULT_FLAGS].map(kebab),
  ]);
  if (values.help === true) return 'help';
  const num = (flag: string): number | undefined => numberFlag(values, flag);
  const str = (flag: string): string | undefined => stringFlag(values, flag);

  const engine: Partial<EngineProfile> = {};
  for (const k of ENGINE_FLAGS) {
    const flag = kebab(k);
    if (values[flag] === undefined) continue;
    if (k === 'enablePrefixCaching') {
      const v = str(flag);
      if (v !== 'true' && v !== 'false') throw sbError('SB_ERR_FLAG', flag, 'must be true or false');
      engine.enablePrefixCaching = v === 'true';
    } else (engine as Record<string, number>)[k] = num(flag) as number;
  }
  const faults: Partial<PodFaults> = {};
  for (const k of FAULT_FLAGS) {
    const v = num(kebab(k));
    if (v !== undefined) faults[k] = v;
  }
  const loraModules = str('lora-modules')
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const eq = s.indexOf('=');
      return eq < 0 ? { name: s } : { name: s.slice(0, eq), path: s.slice(eq + 1) };
    });
  const generated = num('lora-adapters') ?? 0;
  if (!Number.isInteger(generated) || generated < 0 || generated > 100_000) throw sbError('SB_ERR_FLAG', 'lora-adapters', 'must be an integer in [0, 100000]');
  const adapters = [...(loraModules ?? []), ...Array.from({ length: generated }, (_, i) => ({ name: `adapter-${i}` }))];
  const pods = num('pods') ?? 1;
  const basePort = num('base-port') ?? 8000;
  if (!Number.isInteger(pods) || pods < 1 || pods > 1024) throw sbError('SB_ERR_FLAG', 'pods', 'must be an integer in [1, 1024]');
  if (!Number.isInteger(basePort) || basePort < 0 || basePort + pods - 1 > 65535) {
    throw sbError('SB_ERR_FLAG', 'base-port', 'ports must lie in [0, 65535]');
  }
  const engineType = str('engine') ?? 'vllm';
  if (engineType !== 'vllm' && engineType !== 'sglang') throw sbError('SB_ERR_FLAG', 'engine', 'must be vllm or sglang');
  return {
    engineType,
    pods,
    basePort,
    host: str('host'),
    profile: str('profile'),
    modelName: str('model'),
    loraModules: adapters,
    chatMaxTokens: num('chat-max-tokens'),
    streamChunkTokens: num('stream-chunk-tokens'),
    seed: num('seed'),
    engine,
    faults,
  };
}

/** Runs the fleet until SIGINT/SIGTERM (or `signal` aborts); returns the exit code. */
export async function runSim(argv: string[], signal?: AbortSignal): Promise<number> {
  const opts = parseSimFlags(argv);
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const fleet: SimFleet = await startSimFleet(opts);
  for (const p of fleet.pods) process.stdout.write(`sim pod ${p.index}: ${p.url} (model ${fleet.modelName}, ${opts.engineType ?? 'vllm'} API)\n`);
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
