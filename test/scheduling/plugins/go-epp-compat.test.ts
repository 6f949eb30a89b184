import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { createSwitchboard } from '../../../src/switchboard.js';
import { GO_EPP_COMPAT_TYPES } from '../../../src/scheduling/plugins/go-epp-compat/index.js';

describe('Go EPP compatibility types', () => {
  it('load, keep their parameters and change nothing in the profile', () => {
    const plugins = GO_EPP_COMPAT_TYPES.map((t) => `- type: ${t}\n  parameters: {x: 1}`).join('\n');
    const cfg = parseConfig(`plugins:\n${plugins}\n- type: queue-scorer\nschedulingProfiles: [{name: p, plugins: [{pluginRef: queue-scorer}]}]`);
    const core = createSwitchboard({ config: cfg, scrape: false, telemetry: false });
    expect(core.built.profile.scorers.map((s) => s.scorer.typedName.type)).toEqual(['queue-scorer']);
    expect(core.warnings).toEqual([]);
    void core.close();
  });

  it('hand the producer parameters to the prefix scorer', () => {
    const cfg = parseConfig('plugins:\n- type: approx-prefix-cache-producer\n  parameters: {blockSizeTokens: 64, autoTune: false}\n- type: prefix-cache-scorer\n');
    const core = createSwitchboard({ config: cfg, scrape: false, telemetry: false });
    expect(core.warnings).toEqual([]);
    expect(core.built.profile.scorers[0].scorer.typedName.type).toBe('prefix-cache-scorer');
    void core.close();
  });
});
