/** The one table-driven flag parser: syntax, types, bounds, errors, suggestions, notices and help. */
import { describe, expect, it } from 'vitest';
import { flagNotices, formatFlags, nearestFlags, parseFlags, rejectPositionals, type FlagSpec } from '../../src/cli/flags.js';
import { checkHostPort } from '../../src/cli/host-port.js';
import { BENCH_FLAGS } from '../../src/cli/bench.js';
import { LOAD_FLAGS } from '../../src/cli/load.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { logSettings } from '../../src/cli/serve-logging.js';
import { SIM_FLAGS } from '../../src/cli/sim.js';

const TABLE: FlagSpec[] = [
  { name: 'pods', type: 'int', min: 1, default: 1, help: 'pods' },
  { name: 'port', type: 'int', min: 1, max: 65535, default: 80, help: 'port' },
  { name: 'rate', type: 'float', min: 0, max: 1, default: 0, help: 'rate' },
  { name: 'wait', type: 'duration', min: 0, max: 60_000, default: 50, help: 'wait' },
  { name: 'on', type: 'bool', default: false, help: 'on' },
  { name: 'mode', type: 'enum', values: ['a', 'b'], default: 'a', help: 'mode' },
  { name: 'peer', type: 'host-port', default: '', help: 'peer' },
  { name: 'peers', type: 'list', items: 'host-port', default: [], help: 'peers' },
  { name: 'names', type: 'list', default: [], help: 'names' },
  { name: 'name', type: 'string', default: '', help: 'name' },
  { name: 'old', type: 'duration', default: null, aliasOf: 'wait', help: 'old name of --wait' },
  { name: 'legacy', type: 'bool', default: false, help: 'legacy', ignored: 'not implemented' },
  { name: 'gone', type: 'string', default: '', help: 'gone', deprecated: 'use --name' },
];

const parse = (argv: string[]) => parseFlags(TABLE, argv);
function error(argv: string[]): string {
  try {
    parse(argv);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

describe('flag syntax (Go flag package)', () => {
  it.each<[string, string[], string, unknown]>([
    ['--name=value', ['--pods=3'], 'pods', 3],
    ['--name value', ['--pods', '3'], 'pods', 3],
    ['-name=value', ['-pods=3'], 'pods', 3],
    ['-name value', ['-pods', '3'], 'pods', 3],
    ['a bare boolean', ['--on'], 'on', true],
    ['a boolean =false', ['--on=false'], 'on', false],
    ['Go boolean spellings', ['-on=F'], 'on', false],
    ['a negative number as next argument', ['--rate', '0.5'], 'rate', 0.5],
    ['a compound duration', ['--wait=1s500ms'], 'wait', 1500],
    ['a duration of 0', ['--wait', '0'], 'wait', 0],
    ['an enum', ['--mode=b'], 'mode', 'b'],
    ['a host:port', ['--peer=[fd00::1]:8000'], 'peer', '[fd00::1]:8000'],
    ['a list', ['--names', 'a, b,,c'], 'names', ['a', 'b', 'c']],
    ['a value with =', ['--name=a=b'], 'name', 'a=b'],
    ['a quoted value as Helm charts write it', ['--name="sglang:num_queue_reqs"'], 'name', 'sglang:num_queue_reqs'],
    ['an empty value', ['--name', ''], 'name', ''],
    ['an alias', ['--old=2s'], 'wait', 2000],
  ])('%s', (_what, argv, name, value) => {
    const f = parse(argv);
    expect(f.values[name]).toEqual(value);
    expect(f.given.has(name)).toBe(true);
  });

  it('fills defaults and marks nothing given', () => {
    const f = parse([]);
    expect(f.values).toMatchObject({ pods: 1, port: 80, wait: 50, on: false, mode: 'a', names: [] });
    expect(f.given.size).toBe(0);
    expect('old' in f.values).toBe(false);
  });

  it('a repeated scalar takes the last value, a repeated list keeps every item', () => {
    const f = parse(['--pods=2', '--names', 'a,b', '--pods', '3', '--names=c', '-peers', '127.0.0.1:1', '--peers=127.0.0.1:2']);
    expect(f.values.pods).toBe(3);
    expect(f.values.names).toEqual(['a', 'b', 'c']);
    expect(f.values.peers).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
    // The default is replaced, not added to, by the first occurrence.
    const withDefault = parseFlags([{ name: 'seeds', type: 'list', default: ['1'], help: 'seeds' }], ['--seeds=2', '--seeds=3']);
    expect(withDefault.values.seeds).toEqual(['2', '3']);
    // --help says so.
    expect(formatFlags(TABLE)).toContain('--names <list> (repeatable)');
    expect(formatFlags(TABLE)).toContain('--pods <int>');
  });

  it('stops at --, and a bare boolean does not take the next argument', () => {
    const f = parse(['--on', 'x', '--', '--pods=2']);
    expect(f.values.on).toBe(true);
    expect(f.positional).toEqual(['x', '--pods=2']);
    expect(f.values.pods).toBe(1);
    expect(() => rejectPositionals(f)).toThrow('invalid flag --on: a boolean takes its value as --on=x, got the separate argument "x"');
    expect(() => rejectPositionals(parse(['stray']))).toThrow(/invalid flag --stray: unexpected argument/);
    expect(parse(['-h']).help).toBe(true);
    expect(parse(['--help']).help).toBe(true);
  });
});

describe('flag errors name the flag and the problem', () => {
  it.each<[string[], string]>([
    [['--pods=x'], 'invalid flag --pods: must be an integer >= 1, got "x"'],
    [['--pods=0'], 'invalid flag --pods: must be an integer >= 1, got "0"'],
    [['--pods=1.5'], 'invalid flag --pods: must be an integer >= 1, got "1.5"'],
    [['--pods='], 'invalid flag --pods: must be an integer >= 1, got ""'],
    [['--port=70000'], 'invalid flag --port: must be an integer from 1 to 65535, got "70000"'],
    [['--rate=2'], 'invalid flag --rate: must be a number from 0 to 1, got "2"'],
    [['--wait=fast'], 'invalid flag --wait: must be a duration like 50ms or 2s from 0ms to 60000ms, got "fast"'],
    [['--wait=2m'], 'invalid flag --wait: must be a duration like 50ms or 2s from 0ms to 60000ms, got "2m"'],
    [['--on=maybe'], 'invalid flag --on: must be true or false, got "maybe"'],
    [['--mode=c'], 'invalid flag --mode: must be one of a, b, got "c"'],
    [['--pods'], 'invalid flag --pods: needs a value (an integer >= 1)'],
    [['--peer=10.0.0.1'], 'invalid flag --peer: missing port in "10.0.0.1" (want host:port, e.g. 127.0.0.1:8000)'],
    [['--peers=10.0.0.1:80,10.0.0.2:0'], 'invalid flag --peers: port out of range 1-65535 in "10.0.0.2:0": 0'],
    [['--pdos=2'], 'invalid flag --pdos: unknown flag (did you mean --pods?)'],
    [['--zzzzzzzz'], 'invalid flag --zzzzzzzz: unknown flag'],
  ])('%j', (argv, message) => {
    expect(error(argv)).toBe(message);
  });

  it('suggests the nearest serve flags', () => {
    expect(nearestFlags('grpc-prot', SERVE_FLAGS)).toEqual(['grpc-port']);
    expect(nearestFlags('pool', SERVE_FLAGS)).toEqual(expect.arrayContaining(['pool-name']));
    expect(nearestFlags('podz', SIM_FLAGS)).toEqual(['pods']);
    expect(() => parseFlags(SERVE_FLAGS, ['--metric-port=1'])).toThrow('invalid flag --metric-port: unknown flag (did you mean --metrics-port?)');
  });
});

describe('host:port', () => {
  it.each<[string, string | null]>([
    ['127.0.0.1:8000', null],
    ['vllm-0.vllm.default.svc:8000', null],
    ['[fd00::1]:9002', null],
    ['localhost:1', null],
    ['127.0.0.1', 'missing port in "127.0.0.1" (want host:port, e.g. 127.0.0.1:8000)'],
    ['127.0.0.1:', 'missing port in "127.0.0.1:" (want host:port, e.g. 127.0.0.1:8000)'],
    ['[fd00::1]', 'missing port in "[fd00::1]" (want host:port, e.g. [fd00::1]:8000)'],
    [':8000', 'bad host in ":8000": the host is empty'],
    ['127.0.0.1:65536', 'port out of range 1-65535 in "127.0.0.1:65536": 65536'],
    ['127.0.0.1:0', 'port out of range 1-65535 in "127.0.0.1:0": 0'],
    ['127.0.0.1:http', 'bad port "http" in "127.0.0.1:http": not a number'],
    ['fd00::1:80', 'bad host "fd00::1" in "fd00::1:80": put an IPv6 address in brackets, e.g. [fd00::1]:80'],
    ['999.1.1.1:80', 'bad host "999.1.1.1" in "999.1.1.1:80": not an IP address or DNS name'],
    ['a b:80', 'bad host "a b" in "a b:80": not an IP address or DNS name'],
    ['[zz]:80', 'bad host "zz" in "[zz]:80": not an IPv6 address'],
  ])('%s', (text, problem) => {
    expect(checkHostPort(text)).toBe(problem);
  });
});

describe('ignored and deprecated flags', () => {
  it('are noticed once each, only when given with a value that does not happen here', () => {
    expect(flagNotices(TABLE, parse(['--legacy=false']))).toEqual([]);
    expect(flagNotices(TABLE, parse(['--legacy', '--gone=x', '--legacy']))).toEqual([
      { code: 'SB_WARN_FLAG_IGNORED', flag: 'legacy', message: 'flag --legacy is accepted and ignored: not implemented' },
      { code: 'SB_WARN_FLAG_DEPRECATED', flag: 'gone', message: 'flag --gone is deprecated: use --name' },
    ]);
  });
});

describe('the subcommand tables', () => {
  it.each<[string, FlagSpec[]]>([
    ['serve', SERVE_FLAGS],
    ['sim', SIM_FLAGS],
    ['load', LOAD_FLAGS],
    ['bench', BENCH_FLAGS],
  ])('%s declares each name once, every enum has values, aliases point at real flags, help lists all', (_cmd, table) => {
    const names = table.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const f of table) {
      expect(f.help, f.name).not.toBe('');
      if (f.type === 'enum') expect(f.values?.length, f.name).toBeGreaterThan(0);
      if (f.aliasOf !== undefined) expect(names).toContain(f.aliasOf);
      // Defaults must satisfy their own bounds.
      if (typeof f.default === 'number' && f.type !== 'duration') {
        if (f.min !== undefined) expect(f.default, f.name).toBeGreaterThanOrEqual(f.min);
        if (f.max !== undefined) expect(f.default, f.name).toBeLessThanOrEqual(f.max);
      }
    }
    const help = formatFlags(table);
    for (const n of names) expect(help).toContain(`--${n}`);
  });

  it('serve ports and the demo fleet are bounded', () => {
    expect(() => parseFlags(SERVE_FLAGS, ['--grpc-port=70000'])).toThrow('invalid flag --grpc-port: must be an integer from -1 to 65535, got "70000"');
    expect(() => parseFlags(SERVE_FLAGS, ['--demo-pods=0'])).toThrow('invalid flag --demo-pods: must be an integer from 1 to 1024, got "0"');
    expect(() => parseFlags(SERVE_FLAGS, ['--endpoints=10.0.0.1'])).toThrow(/invalid flag --endpoints: missing port/);
    expect(() => parseFlags(SERVE_FLAGS, ['--log-level=loud'])).toThrow(/invalid flag --log-level: must be one of trace, debug, info/);
    expect(() => parseFlags(SERVE_FLAGS, ['--zap-encoder=xml'])).toThrow('invalid flag --zap-encoder: must be one of json, console, got "xml"');
  });

  it('the llm-d router --drain-timeout sets --shutdown-grace-period', () => {
    const f = parseFlags(SERVE_FLAGS, ['--drain-timeout=45s']);
    expect(f.values['shutdown-grace-period']).toBe(45_000);
    expect(f.given.has('shutdown-grace-period')).toBe(true);
  });
});

describe('serve log settings from Go EPP flags', () => {
  const settings = (argv: string[]) => logSettings(parseFlags(SERVE_FLAGS, argv));
  it.each<[string[], string, boolean | undefined]>([
    [[], 'info', undefined],
    [['--v=2'], 'info', undefined],
    [['--v', '4'], 'debug', undefined],
    [['-v=5'], 'trace', undefined],
    [['--zap-log-level=debug'], 'debug', undefined],
    [['--zap-log-level=error'], 'error', undefined],
    [['--zap-log-level=panic'], 'fatal', undefined],
    [['--zap-log-level=3'], 'debug', undefined],
    [['--zap-log-level=info', '--v=5'], 'info', undefined],
    [['--log-level=warn', '--zap-log-level=debug'], 'warn', undefined],
    [['--zap-encoder', 'json'], 'info', false],
    [['--zap-encoder=console'], 'info', true],
    [['--zap-devel'], 'info', true],
    [['--zap-devel=false'], 'info', false],
    [['--zap-devel', '--zap-encoder=json'], 'info', false],
    [['--zap-encoder=console', '--log-pretty=false'], 'info', false],
  ])('%j', (argv, level, pretty) => {
    expect(settings(argv)).toMatchObject({ level, pretty });
  });

  it('rejects a zap level it cannot map', () => {
    expect(() => settings(['--zap-log-level=loud'])).toThrow(/invalid flag --zap-log-level: must be debug, info, warn, error, dpanic, panic, fatal or an integer > 0, got "loud"/);
    expect(() => settings(['--zap-log-level=-1'])).toThrow(/invalid flag --zap-log-level/);
  });
});
