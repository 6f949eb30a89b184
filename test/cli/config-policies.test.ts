/** `--config name=path` entries: parsing, registration, and warnings said once before any run. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configEntries, joinConfigPolicies } from '../../src/cli/config-policies.js';
import { checkPolicies } from '../../src/sim/scorecard/policies.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-config-policies-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PROFILE = (queueParams: string) => `plugins: [{type: queue-scorer${queueParams}}, {type: max-score-picker}]
schedulingProfiles:
- name: default
  plugins: [{pluginRef: queue-scorer}, {pluginRef: max-score-picker}]
`;

describe('config-file policies', () => {
  it('parses name=path entries; a bare path is named after its file', () => {
    expect(configEntries(['a=x/one.yaml', 'x/two.yml', 'b=c=d.yaml'])).toEqual([
      { name: 'a', path: 'x/one.yaml' },
      { name: 'two', path: 'x/two.yml' },
      { name: 'b', path: 'c=d.yaml' },
    ]);
    expect(() => configEntries(['=x.yaml'])).toThrow('invalid flag --config: expected name=path, got "=x.yaml"');
    expect(() => configEntries(['a='])).toThrow('invalid flag --config: expected name=path, got "a="');
  });

  it('registers each policy once, in order, and says what a file ignores', () => {
    const clean = join(dir, 'clean.yaml');
    const typo = join(dir, 'typo.yaml');
    writeFileSync(clean, PROFILE(''));
    writeFileSync(typo, PROFILE(', parameters: {wieght: 2}'));
    const policies = ['least-request', 'clean'];
    let said = '';
    joinConfigPolicies(configEntries([`clean=${clean}`, `typo=${typo}`, `typo2=${typo}`]), policies, (w) => (said += w));
    expect(policies).toEqual(['least-request', 'clean', 'typo', 'typo2']);
    expect(() => checkPolicies(policies)).not.toThrow();
    const line = (name: string) => `warning: config policy "${name}" (${typo}): plugin "queue-scorer" (queue-scorer): unknown parameters wieght ignored [SB_WARN_UNKNOWN_PARAMS]\n`;
    expect(said).toBe(line('typo') + line('typo2'));
  });

  it('a file that does not load stops before any run, naming it', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'plugins: [{type: no-such-plugin}]\n');
    expect(() => joinConfigPolicies(configEntries([`x=${bad}`]), [], () => undefined)).toThrow(/no-such-plugin/);
    expect(() => joinConfigPolicies(configEntries([`y=${join(dir, 'missing.yaml')}`]), [], () => undefined)).toThrow(/missing\.yaml/);
  });
});
