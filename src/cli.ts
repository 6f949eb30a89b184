#!/usr/bin/env node
// Entry point of the `switchboard` binary: dispatches to a subcommand.
import { main } from './cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`switchboard: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
