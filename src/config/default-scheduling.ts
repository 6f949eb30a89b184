/**
 * The default scheduling (plugins and profile): the decode-headroom filter (affinity yields to
 * load: bounded loads counted in KV units on mixed fleets, a little more for the holder of a long
 * prefix that is not hot, a tight bound for a request with no affinity to keep, decode slowing
 * above the mean load; while every endpoint kept queues, such a request may spill to one dropped
 * that queues nothing and answers first tokens about as fast; a pod running the requested adapter
 * may carry 8 more requests while adapters outnumber its LoRA slots more than two to one, since a
 * hot adapter spread to another pod holds a slot there for good),
 * then the Go EPP's blend (prefix 3, suspended for a prefix hotter than its holders' share of the
 * pods, and discounted on a pod under KV pressure that has allocated most of its cache since it
 * last saw the prefix; queue 2, KV 2) plus Switchboard's prefill-work estimate (2) and LoRA affinity (4,
 * remembering where adapters were sent; a load goes where it evicts the coldest adapter on offer;
 * no pull towards an adapter's pods when every adapter fits in every pod's slots, and a
 * fading one towards a pod whose KV cache its running requests nearly fill; a remembered adapter
 * counts as a free slot where max_lora others run), picked by max
 * score. The prefix index hashes every fourth KV block
 * boundary: half the index work of every second one, with the same routing within seed noise.
 * The scorecard (bench/RESULTS.md) chose it; the reason for each term is there. Kept as YAML so
 * `serve --print-config` shows users exactly what runs, and apart from the loader so a config
 * file that names no scheduling section keeps it.
 */
import { parse as parseYaml } from 'yaml';

export const DEFAULT_SCHEDULING_YAML = `plugins:
- type: decode-headroom-filter
  parameters:
    slowAbove: mean
    loadUnit: kv
    affinityTokens: 1000
    balanceSlack: 0.25
    balanceMinSlack: 2
    spillWhenQueued: true
    adapterAllowance: 8
- type: prefix-cache-scorer
  parameters:
    blocksPerHash: 4
    spreadHotPrefixes: true
    staleFrom: 0.9
    staleAt: 1.1
    staleKvUsage: 0.7
- type: prefill-work-scorer
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: lora-affinity-scorer
  parameters:
    freeSlotScore: 0.3
    allFitFreeSlotScore: 1
    recentScore: 0.9
    protectHotAdapters: true
    kvYieldFrom: 0.8
    fullBatchRecallScore: 0.3
- type: max-score-picker
  parameters:
    tieMargin: 0.25
    tieScope: no-affinity
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: decode-headroom-filter
  - pluginRef: prefix-cache-scorer
    weight: 3
  - pluginRef: prefill-work-scorer
    weight: 2
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: lora-affinity-scorer
    weight: 4
  - pluginRef: max-score-picker
`;

/** A fresh copy of the default `plugins` and `schedulingProfiles` sections, as a decoded document. */
export function defaultSchedulingDocument(): { plugins: unknown[]; schedulingProfiles: unknown[] } {
  return parseYaml(DEFAULT_SCHEDULING_YAML) as { plugins: unknown[]; schedulingProfiles: unknown[] };
}
