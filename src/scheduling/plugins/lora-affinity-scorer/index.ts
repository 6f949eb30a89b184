/** `lora-affinity-scorer`: prefers endpoints that already serve the requested adapter. See README.md. */
import type { AnyPlugin, PluginFactory } from '../../framework/plugin.js';
import { typed } from '../common.js';

export const LORA_AFFINITY_SCORER = 'lora-affinity-scorer';
/** Adapter names learnt from scrapes at most (a hostile page cannot grow the set without bound). */
const MAX_KNOWN_ADAPTERS = 4096;

export const loraAffinityScorer: PluginFactory = (name, p, { pool }) => {
  const active = p.number('activeScore', 1, { min: 0, max: 1 });
  const freeSlot = p.number('freeSlotScore', 0.8, { min: 0, max: 1 });
  const waiting = p.number('waitingScore', 0.6, { min: 0, max: 1 });
  // Switchboard: the adapters this picker sent to each endpoint most recently are likely still in
  // its GPU slots (vLLM evicts least recently used), even when none of their requests is running.
  const recent = p.number('recentScore', 0, { min: 0, max: 1 });
  const recentSlots = p.number('recentSlots', 0, { min: 0, max: 64, integer: true });
  /** Per slot, the last distinct models sent there, most recent first ('' = empty). */
  const memory: string[][] = [];
  /** Models ever reported as LoRA adapters: only those are remembered (the base model is everywhere). */
  const adapters = new Set<string>();
  if (recent > 0) {
    pool.subscribe((e) => {
      if (e.type === 'removed' && e.endpoint.slot < memory.length) memory[e.endpoint.slot] = [];
    });
    // Off the pick: each scrape teaches which model names are adapters (bounded, pages are input).
    pool.onMetrics((ep) => {
      const m = ep.metrics;
      if (m === null || adapters.size >= MAX_KNOWN_ADAPTERS) return;
      for (const a of m.activeAdapters) adapters.add(a);
      for (const a of m.waitingAdapters) adapters.add(a);
    });
  }
  const remembered = (s: number, model: string): boolean => {
    const m = s < memory.length ? memory[s] : undefined;
    if (m === undefined) return false;
    for (let i = 0; i < m.length; i++) if (m[i] === model) return true;
    return false;
  };
  const scorer: AnyPlugin = {
    typedName: typed(LORA_AFFINITY_SCORER, name),
    score(cycle, cands, out) {
      const model = cycle.request.targetModel;
      const slots = cands.slots;
      const maxAdapters = pool.maxAdapters;
      for (let k = 0; k < cands.length; k++) {
        const s = slots[k];
        const m = pool.atSlot(s)?.metrics;
        if (m == null) {
          out[k] = 0;
          continue;
        }
        if (m.activeAdapters.has(model)) out[k] = active;
        else if (recent > 0 && remembered(s, model)) out[k] = recent;
        else if (m.activeAdapters.size + m.waitingAdapters.size < maxAdapters[s]) out[k] = freeSlot;
        else if (m.waitingAdapters.has(model)) out[k] = waiting;
        else out[k] = 0;
      }
    },
  };
  if (recent > 0) {
    scorer.preRequest = (cycle, picked, count) => {
      if (count === 0) return;
      const s = picked[0];
      const model = cycle.request.targetModel;
      if (!adapters.has(model)) return;
      while (memory.length <= s) memory.push([]);
      const m = memory[s];
      // As many as the endpoint has adapter slots (plus the base model), unless set.
      const cap = recentSlots > 0 ? recentSlots : Math.max(1, pool.maxAdapters[s]) + 1;
      let at = m.indexOf(model);
      if (at < 0) at = m.length < cap ? m.push(model) - 1 : cap - 1;
      for (let i = at; i > 0; i--) m[i] = m[i - 1];
      m[0] = model;
      if (m.length > cap) m.length = cap;
    };
  }
  return scorer;
};
