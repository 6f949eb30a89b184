/** Subcommand dispatch for the `switchboard` CLI. */
export async function main(argv: string[]): Promise<number | void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(usage());
      return 0;
    case 'sim':
      return (await import('./sim.js')).runSim(rest);
    case 'bench':
      return (await import('./bench.js')).runBench(rest);
    case 'load':
      return (await import('./load.js')).runLoad(rest);
    default:
      process.stderr.write(`unknown command "${cmd}"\n${usage()}`);
      void rest;
      return 2;
  }
}

function usage(): string {
  return 'usage: switchboard <command> [flags]\n\ncommands:\n  serve   run the endpoint picker\n  sim     run simulated vLLM pods\n  load    send a scenario to an OpenAI-compatible URL\n  bench   compare routing policies in virtual time\n';
}
