/** `lora-affinity-scorer`: prefers endpoints that already serve the requested adapter. See README.md. */
import type { AnyPlugin, PluginFactory } from '../../framework/plugin.js';
import { typed } from '../common.js';
import { DecayedShare } from '../../../util/decayed-share.js';
import { learnAdapterNames, type AdapterNames } from '../adapter-names.js';

export const LORA_AFFINITY_SCORER = 'lora-affinity-scorer';
/** Requested model names with a cached per-slot view (more distinct names: the cache restarts). */
const MAX_MODEL_VIEWS = 256;

/** One model's per-slot scores as of each slot's latest scrape (`seq`), and the memory's flags. */
class ModelView {
  readonly seq: Float64Array;
  readonly score: Float64Array;
  readonly active: Uint8Array;
  readonly remembered: Uint8Array;
  /** 1 where the score is a free slot that may evict an adapter. */
  readonly free: Uint8Array;
  /** 1 where `max_lora` other adapters run: the model cannot join the batch until one drains. */
  readonly full: Uint8Array;
  constructor(capacity: number) {
    this.seq = new Float64Array(capacity).fill(-1);
    this.score = new Float64Array(capacity);
    this.active = new Uint8Array(capacity);
    this.remembered = new Uint8Array(capacity);
    this.free = new Uint8Array(capacity);
    this.full = new Uint8Array(capacity);
  }
}

export const loraAffinityScorer: PluginFactory = (name, p, { pool }) => {
  const active = p.number('activeScore', 1, { min: 0, max: 1 });
  const freeSlot = p.number('freeSlotScore', 0.8, { min: 0, max: 1 });
  const waiting = p.number('waitingScore', 0.6, { min: 0, max: 1 });
  // Switchboard: the adapters this picker sent to each endpoint most recently are likely still in
  // its GPU slots (vLLM evicts least recently used), even when none of their requests is running.
  const recent = p.number('recentScore', 0, { min: 0, max: 1 });
  const recentSlots = p.number('recentSlots', 0, { min: 0, max: 64, integer: true });
  // Switchboard: where `max_lora` other adapters run, a remembered adapter has left its GPU slot
  // (vLLM keeps only running adapters in a full set) and waits for one of them to drain: it scores
  // this instead of recentScore, or the waiting score where it waits there already (default:
  // recentScore).
  const fullBatchRecall = p.number('fullBatchRecallScore', recent, { min: 0, max: 1 });
  // Switchboard: affinity yields before it hurts decode. Above this KV-cache usage (blocks held by
  // running requests) an endpoint's score for an adapter fades linearly to 0 at a full cache, so an
  // adapter whose pods have run out of memory spreads instead of queueing and preempting there
  // (0: off). The base model has no affinity to yield: its scores are left alone.
  const kvYieldFrom = p.number('kvYieldFrom', 0, { min: 0, max: 0.99 });
  // Switchboard: where every adapter the fleet has reported fits in the endpoint's slots at once,
  // loading one into a free slot evicts nothing and happens once, so a free slot is worth this
  // instead (default: freeSlotScore, the Go EPP's behaviour).
  const roomySlot = p.number('allFitFreeSlotScore', freeSlot, { min: 0, max: 1 });
  // Switchboard: filling a free slot evicts the endpoint's least recently sent idle adapter; a
  // free slot is worth less the hotter that adapter is against the requested one (see README).
  const protect = p.boolean('protectHotAdapters', false);
  const shares = protect ? new DecayedShare<string>(p.number('adapterHalfLife', 1000, { min: 10, max: 1_000_000, integer: true })) : null;
  const remember = recent > 0 || protect;
  // Switchboard: a base-model request needs no adapter slot, so where adapters run says nothing
  // about where it should go (see README).
  const baseNeutral = p.boolean('baseModelNeutral', false);
  /** Per slot, the last distinct models sent there, most recent first ('' = empty). */
  const memory: string[][] = [];
  const forget = (model: string, s: number): void => {
    const v = views.get(model);
    if (v !== undefined && s < v.remembered.length) v.remembered[s] = 0;
  };
  /** Adapters (reported, or not a served base model): only those are remembered (the base model is everywhere). */
  const names: AdapterNames | null = remember || roomySlot !== freeSlot || baseNeutral || kvYieldFrom > 0 ? learnAdapterNames(pool) : null;
  const adapters = names?.reported ?? new Set<string>();
  const isAdapter = (model: string): boolean => names !== null && names.isAdapter(model);
  if (remember) {
    pool.subscribe((e) => {
      const s = e.endpoint.slot;
      if (e.type !== 'removed' || s >= memory.length) return;
      for (const model of memory[s]) forget(model, s);
      memory[s] = [];
    });
  }
  /**
   * Per model, what the scrapes say about each slot, derived once per scrape rather than per
   * pick (two Set lookups per endpoint were a quarter of a 1,024-endpoint pick), plus whether the
   * memory holds the model for the slot. Bounded: model names come from clients.
   */
  const views = new Map<string, ModelView>();
  const viewOf = (model: string): ModelView => {
    let v = views.get(model);
    if (v === undefined || v.seq.length < pool.capacity) {
      if (v === undefined && views.size >= MAX_MODEL_VIEWS) views.clear();
      v = new ModelView(pool.capacity);
      for (let s = 0; s < memory.length; s++) if (memory[s].includes(model)) v.remembered[s] = 1;
      views.set(model, v);
    }
    return v;
  };
  const derive = (v: ModelView, s: number, model: string): void => {
    v.seq[s] = pool.metricsSeq[s];
    const m = pool.atSlot(s)?.metrics;
    v.active[s] = 0;
    v.free[s] = 0;
    v.full[s] = 0;
    if (m == null) v.score[s] = 0;
    else if (m.activeAdapters.has(model)) {
      v.score[s] = active;
      v.active[s] = 1;
    } else if (m.activeAdapters.size + m.waitingAdapters.size < pool.maxAdapters[s]) {
      const roomy = adapters.size > 0 && adapters.size <= pool.maxAdapters[s];
      v.score[s] = roomy ? roomySlot : freeSlot;
      v.free[s] = roomy ? 0 : 1;
    } else {
      v.score[s] = m.waitingAdapters.has(model) ? waiting : 0;
      v.full[s] = pool.maxAdapters[s] > 0 && m.activeAdapters.size >= pool.maxAdapters[s] ? 1 : 0;
    }
  };
  /** Whether the memory, not the scrape, scores slot s: the adapter went there lately and runs nothing there now. */
  const recalls = (v: ModelView, s: number): boolean => recent > 0 && v.remembered[s] === 1 && v.active[s] === 0 && pool.metricsSeq[s] !== 0;
  const scorer: AnyPlugin = {
    typedName: typed(LORA_AFFINITY_SCORER, name),
    score(cycle, cands, out) {
      const model = cycle.request.targetModel;
      const adapterRequest = isAdapter(model);
      if (baseNeutral && adapters.size > 0 && !adapterRequest) {
        out.fill(0, 0, cands.length);
        return;
      }
      const v = viewOf(model);
      const slots = cands.slots;
      const seqs = pool.metricsSeq;
      const { seq, score, free } = v;
      const kv = pool.kvUsage;
      const yieldFrom = kvYieldFrom > 0 && adapterRequest ? kvYieldFrom : 0;
      const own = shares !== null && adapterRequest ? shares.count(model) : -1;
      // The coldest adapter a load into one of the candidates' free slots would evict: the pod
      // that evicts it keeps the whole free-slot score, the others a share of it (see README).
      let coldest = 0;
      if (own >= 0) {
        coldest = Infinity;
        for (let k = 0; k < cands.length; k++) {
          const s = slots[k];
          if (seq[s] !== seqs[s]) derive(v, s, model);
          if (free[s] === 1 && !recalls(v, s)) coldest = Math.min(coldest, victimShare(s));
        }
        if (coldest === Infinity) coldest = 0;
      }
      for (let k = 0; k < cands.length; k++) {
        const s = slots[k];
        if (seq[s] !== seqs[s]) derive(v, s, model);
        // Running here wins; else an adapter sent here recently is likely still in its slot. Where
        // every adapter fits (free slot 1) this is a small push away from where the adapter went
        // last; taking the larger of the two instead piled adapters up on generated draw
        // default-050 (TTFT p99 5.0 against 2.4 s), so it stays.
        if (recalls(v, s)) out[k] = v.full[s] === 1 ? Math.max(fullBatchRecall, score[s]) : recent;
        else if (own >= 0 && free[s] === 1) out[k] = (score[s] * (own + coldest)) / (own + victimShare(s));
        else out[k] = score[s];
        if (yieldFrom > 0 && kv[s] > yieldFrom) out[k] *= Math.max(0, (1 - kv[s]) / (1 - yieldFrom));
      }
    },
  };
  /**
   * The share of the recent requests that asked for the adapter a load into s would evict: the
   * oldest of the last `max_lora` adapters sent there that runs nothing now (vLLM evicts its least
   * recently used idle adapter); 0 while s has a slot never filled or nothing idle to evict.
   */
  const victimShare = (s: number): number => {
    const m = s < memory.length ? memory[s] : undefined;
    const slotsHere = pool.maxAdapters[s];
    if (m === undefined || m.length < slotsHere) return 0;
    const running = pool.atSlot(s)?.metrics?.activeAdapters;
    for (let i = slotsHere - 1; i >= 0; i--) {
      if (running !== undefined && running.has(m[i])) continue;
      return (shares as DecayedShare<string>).share(m[i]);
    }
    return 0;
  };
  if (remember) {
    scorer.preRequest = (cycle, picked, count) => {
      if (count === 0) return;
      const s = picked[0];
      const model = cycle.request.targetModel;
      if (!isAdapter(model)) return;
      while (memory.length <= s) memory.push([]);
      const m = memory[s];
      // One more than the endpoint's GPU adapter slots (`max_lora`), unless set: the adapter
      // evicted last is likely still in vLLM's CPU cache, a copy away rather than a read (README).
      const cap = recentSlots > 0 ? recentSlots : Math.max(1, pool.maxAdapters[s]) + 1;
      let at = m.indexOf(model);
      if (at < 0) {
        if (m.length < cap) at = m.push(model) - 1;
        else {
          at = cap - 1;
          forget(m[at], s);
        }
      }
      for (let i = at; i > 0; i--) m[i] = m[i - 1];
      m[0] = model;
      while (m.length > cap) forget(m.pop() as string, s);
      const v = views.get(model);
      if (v !== undefined && s < v.remembered.length) v.remembered[s] = 1;
    };
  }
  return scorer;
};
