/** Subcommand dispatch for the `switchboard` CLI. */
import { isSwitchboardError } from '../errors.js';
import { runServe } from './serve.js';
import { VERSION } from './version.js';

/** Subcommands by name, loaded on demand so `serve` does not load the simulator. */
const COMMANDS: Record<string, { help: string; run: (argv: string[]) => Promise<number> }> = {
  serve: { help: 'run the endpoint picker (ext_proc, proxy, metrics)', run: runServe },
  sim: { help: 'run simulated vLLM pods', run: async (a) => (await import('./sim.js')).runSim(a) },
  load: { help: 'send a scenario to an OpenAI-compatible URL', run: async (a) => (await import('./load.js')).runLoad(a) },
  bench: { help: 'compare routing policies in virtual time', run: async (a) => (await import('./bench.js')).runBench(a) },
  plan: { help: 'size a fleet and its autoscaling for an SLO on the simulator', run: async (a) => (await import('./plan.js')).runPlanCommand(a) },
  'convert-trace': { help: 'turn a public request trace into a replayable JSONL trace', run: async (a) => (await import('./convert-trace.js')).runConvertTrace(a) },
};

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) {
    // A bare `switchboard` is a usage error (as in Go tools): usage on stderr, exit 2.
    process.stderr.write(`switchboard: no command given\n\n${usage()}`);
    return 2;
  }
  if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (cmd === '--version' || cmd === 'version') {
    process.stdout.write(`switchboard ${VERSION}\n`);
    return 0;
  }
  const c = COMMANDS[cmd];
  if (c === undefined) {
    process.stderr.write(`switchboard: unknown command "${cmd}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await c.run(rest);
  } catch (err) {
    // Startup errors (flags, config) are ours and say what to fix; print them plainly.
    if (isSwitchboardError(err)) {
      process.stderr.write(`switchboard ${cmd}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(15)}${c.help}`);
  return `usage: switchboard <command> [flags]\n\ncommands:\n${rows.join('\n')}\n\nRun "switchboard <command> --help" for its flags.\n`;
}
