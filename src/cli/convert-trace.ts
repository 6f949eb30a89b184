/**
 * `switchboard convert-trace`: a public request trace (Azure LLM inference, BurstGPT, Mooncake)
 * as Switchboard's JSONL trace, ready for `load --trace` and `bench --trace`.
 */
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { sbError } from '../errors.js';
import { convertTrace, TRACE_FORMATS, type TraceFormat } from '../workload/trace-convert.js';
import { formatTraceRecord, TRACE_LIMITS } from '../workload/trace.js';
import { formatHelp, givenNum, parseFlags, rejectPositionals, str, type FlagSpec } from './flags.js';

/** Flags of `switchboard convert-trace`. */
export const CONVERT_TRACE_FLAGS: FlagSpec[] = [
  { name: 'from', type: 'enum', values: TRACE_FORMATS, default: 'azure', help: 'input format: azure (TIMESTAMP,ContextTokens,GeneratedTokens), burstgpt, mooncake' },
  { name: 'in', type: 'string', default: '', help: 'input file; required' },
  { name: 'out', type: 'string', default: '', help: 'output JSONL (default: standard output)' },
  { name: 'limit', type: 'int', min: 1, default: null, help: 'keep only the first N requests (by arrival)' },
  { name: 'duration', type: 'float', min: 0.001, default: null, help: 'keep only requests arriving in the first N seconds' },
];

const HELP = formatHelp(
  'switchboard convert-trace --from azure|burstgpt|mooncake --in FILE [--out FILE]',
  'Converts a public LLM request trace into the JSONL trace that load and bench replay.',
  CONVERT_TRACE_FLAGS,
);

/** Entry point of `switchboard convert-trace`; returns the exit code. */
export async function runConvertTrace(argv: string[]): Promise<number> {
  const flags = parseFlags(CONVERT_TRACE_FLAGS, argv);
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  rejectPositionals(flags);
  const input = str(flags, 'in');
  if (input === '') throw sbError('SB_ERR_FLAG', 'in', 'is required');
  let text: string;
  try {
    if (statSync(input).size > TRACE_LIMITS.maxFileBytes) throw new Error(`larger than ${TRACE_LIMITS.maxFileBytes} bytes`);
    text = readFileSync(input, 'utf8');
  } catch (e) {
    throw sbError('SB_ERR_CONFIG', input, (e as Error).message);
  }
  const { records, skipped } = convertTrace(text, str(flags, 'from') as TraceFormat, input);
  const limit = givenNum(flags, 'limit') ?? Infinity;
  const windowMs = (givenNum(flags, 'duration') ?? Infinity) * 1000;
  const kept = records.filter((r, i) => i < limit && r.offsetMs < windowMs);
  const outFile = str(flags, 'out');
  const out = outFile === '' ? process.stdout : createWriteStream(outFile);
  for (const r of kept) if (!out.write(formatTraceRecord(r) + '\n')) await once(out, 'drain');
  if (out !== process.stdout) {
    out.end();
    await once(out, 'finish');
  }
  process.stderr.write(`converted ${kept.length} requests${skipped > 0 ? `, skipped ${skipped} without input or output` : ''}\n`);
  return 0;
}
