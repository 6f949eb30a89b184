/**
 * Routing quality over a generated workload family: `switchboard bench --generate` with the
 * issue's size (60 scenarios × every policy × seeds 1, 2, 3 by default), then the wins/ties/losses
 * summary and the worst losses as a section of bench/RESULTS.md. With --publish, each policy's
 * worst-loss scenario files are copied to bench/families/cases/ so they stay replayable.
 *
 *   npm run bench:family [-- --generate 60] [-- --seeds 1,2,3] [-- --family FILE] [-- --jobs 2] [-- --publish]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, extname, join } from 'node:path';
import { runGenerated } from '../src/cli/bench-generate.js';
import { familyMarkdown, worstOf } from '../src/loadgen/family-summary.js';
import { formatDuration } from '../src/loadgen/progress.js';
import { describeRules } from '../src/workload/judge.js';
import { defaultPolicies } from '../src/sim/scorecard/policies.js';
import { loadNote, machine, publishing, writeJson, writeResultsSection } from './lib/stats.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const count = Number(arg('generate', '60'));
  const seeds = arg('seeds', '1,2,3').split(',').map(Number);
  const family = arg('family', 'bench/families/default.yaml');
  const note = loadNote();
  const out = join('bench', 'out', `family-${basename(family, extname(family))}`);
  const summary = await runGenerated({ count, familyFile: family, familySeed: null, policies: defaultPolicies(), seeds, out, quiet: false, jobs: Number(arg('jobs', String(Math.min(2, availableParallelism())))) });
  const publish = publishing();
  // The worst losses stay replayable: their scenario files are committed with the results.
  const cases = join('bench', 'families', 'cases');
  const rename = new Map<string, string>();
  if (publish) {
    mkdirSync(cases, { recursive: true });
    for (const p of summary.policies)
      for (const l of worstOf(summary, p, 5)) {
        const to = join(cases, basename(l.file));
        // The copy's replay line names where it now lives.
        if (!rename.has(l.file)) writeFileSync(to, readFileSync(l.file, 'utf8').replace(/^# Replay: .*$/m, `# Replay: switchboard bench --scenario ${to}`));
        rename.set(l.file, to);
      }
  }
  const shown = { ...summary, losses: summary.losses.map((l) => ({ ...l, file: rename.get(l.file) ?? l.file })) };
  const command = `npm run bench:family${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const section = `## Generated workload family (\`npm run bench:family\`)

${note}. Latency numbers come from virtual time; only the wall time depends on the machine.

\`switchboard bench --generate ${count} --family ${family} --seeds ${seeds.join(',')}\`: ${count} scenarios drawn from the
family (format and ranges: \`bench/families/README.md\`), each calibrated with a least-request ladder
and offered at 50-110% of that capacity, run with every policy and seed. Each cell counts
scenarios where the policy wins / ties / loses the metric: ${describeRules()}.
Worst-loss scenario files ${publish ? `are in \`${cases}/\`` : `are under \`${out}/scenarios/\` (regenerated identically by the same command)`}; replay one with
\`switchboard bench --scenario FILE --seeds ${seeds.join(',')}\`.

Machine: ${machine()}. Run: ${new Date().toISOString().slice(0, 10)}. Command: \`${command}\`. Wall time
${formatDuration(summary.wallMs)} (calibration included).

${familyMarkdown(shown)}`;
  writeResultsSection(join('bench', 'RESULTS.md'), 'family', section);
  writeJson(join('bench', 'results', 'family.json'), JSON.parse(JSON.stringify({ command, date: new Date().toISOString(), machine: machine(), ...shown }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
