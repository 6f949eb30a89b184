/**
 * `precise-prefix-cache-scorer`: prefers endpoints that hold the request's prompt blocks, as
 * their vLLM KV events say, with the approximate index as the fallback. See README.md.
 */
import { rootKey, requestKeys } from '../../../datalayer/kv-events/block-keys.js';
import { DEFAULT_KV_EVENTS_PORT, DEFAULT_MAX_BLOCKS, KvEventSource } from '../../../datalayer/kv-events/kv-event-source.js';
import { ParamError, Params } from '../../../framework/params.js';
import { hostPort } from '../../../pool/endpoint.js';
import { HfTokenizer } from '../../../request/tokenization/hf-tokenizer.js';
import { PromptTokenizer, type TokenizerBackend, type TokenizingPlugin } from '../../../request/tokenization/prompt-tokenizer.js';
import { VllmTokenizer } from '../../../request/tokenization/vllm-tokenizer.js';
import type { CycleState } from '../../framework/cycle.js';
import type { PluginFactory, PreRequest, Scorer } from '../../framework/plugin.js';
import { PREFIX_MATCH, type PrefixMatch } from '../../framework/prefix-match.js';
import { PRECISE_PREFIX_STATS, type PrecisePrefixStats } from '../../framework/precise-prefix.js';
import type { StatsSource } from '../../framework/stats.js';
import { prefixCacheScorer } from '../prefix-cache-scorer/index.js';
import { typed } from '../common.js';

export const PRECISE_PREFIX_CACHE_SCORER = 'precise-prefix-cache-scorer';

export interface PrecisePrefixCacheScorer extends Scorer, PreRequest, StatsSource<PrecisePrefixStats>, TokenizingPlugin {
  /** The event source (the scorecard delivers events through it). */
  readonly events: KvEventSource;
  close(): Promise<void>;
}

/** Reads the object parameter `key` with its own reader; errors name `key.field`. */
function section<T>(p: Params, plugin: string, key: string, read: (q: Params) => T): T {
  const raw = p.value(key);
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) p.fail(key, 'must be an object');
  const q = new Params(plugin, (raw ?? {}) as Record<string, unknown>);
  try {
    return read(q);
  } catch (err) {
    if (err instanceof ParamError) throw new ParamError(err.plugin, `${key}.${err.key}`, err.reason);
    throw err;
  }
}

const FALLBACK_REASONS = ['no_tokens', 'block_size_mismatch', 'unreliable_endpoint'] as const;
type FallbackReason = (typeof FALLBACK_REASONS)[number];

export const precisePrefixCacheScorer: PluginFactory = (name, p, handle) => {
  const { pool } = handle;
  // llm-d's parameters, where they exist.
  const tokenProcessor = section(p, name, 'tokenProcessorConfig', (q) => {
    const blockSize = q.number('blockSizeTokens', 0, { min: 0, max: 1024, integer: true });
    // Accepted for llm-d configs: keys are Switchboard's own hash of the tokens, so neither matters.
    q.value('hashSeed');
    q.value('hashAlgorithm');
    return { blockSize };
  });
  const kv = section(p, name, 'kvEventsConfig', (q) => {
    const topic = q.string<string>('topicFilter', '');
    const discoverPods = q.boolean('discoverPods', true);
    const zmqEndpoint = q.string<string>('zmqEndpoint', '');
    if (zmqEndpoint !== '') q.fail('zmqEndpoint', 'is not supported: Switchboard dials each pod (discoverPods); remove it');
    q.value('concurrency');
    q.value('engineType');
    const disc = section(q, name, 'podDiscoveryConfig', (r) => ({
      port: r.number('socketPort', DEFAULT_KV_EVENTS_PORT, { min: 1, max: 65535, integer: true }),
      replayPort: r.number('replaySocketPort', 0, { min: 0, max: 65535, integer: true }),
    }));
    // The flags win over the config (a pod's annotation wins over both, in the event source).
    const flagPort = Number(handle.settings?.['kv-events-port'] ?? 0);
    const flagReplay = Number(handle.settings?.['kv-events-replay-port'] ?? -1);
    if (flagPort > 0) disc.port = flagPort;
    if (flagReplay >= 0) disc.replayPort = flagReplay;
    return { topic, discoverPods, ...disc };
  });
  const tok = section(p, name, 'tokenizer', (q) => ({
    backend: q.string('backend', 'vllm', ['vllm', 'local', 'none'] as const),
    path: q.string<string>('path', ''),
    url: q.string<string>('url', ''),
    timeoutMs: q.durationMs('timeout', 50),
    cacheTokens: q.number('cacheTokens', 2_000_000, { min: 1, integer: true }),
    inlineChars: q.number('inlineChars', 8192, { min: 0, integer: true }),
  }));
  const maxBlocks = p.number('maxPrefixBlocksToMatch', 256, { min: 1, max: 65536, integer: true });
  const maxBlocksPerEndpoint = p.number('maxBlocksPerEndpoint', DEFAULT_MAX_BLOCKS, { min: 1, integer: true });
  const reorderGraceMs = p.durationMs('reorderGrace', 20);
  const approximateFallback = p.boolean('approximateFallback', true);
  const approxParams = p.value<Record<string, unknown>>('approximate') ?? {};
  if (typeof approxParams !== 'object' || approxParams === null || Array.isArray(approxParams)) p.fail('approximate', 'must be an object (prefix-cache-scorer parameters)');
  p.value('speculativeIndexing');
  p.value('speculativeTTL');

  let backend: TokenizerBackend | null = null;
  if (tok.backend === 'local') {
    if (tok.path === '') p.fail('tokenizer.path', 'is required with backend "local" (a directory with tokenizer.json and tokenizer_config.json)');
    try {
      backend = new HfTokenizer({ dir: tok.path, inlineChars: tok.inlineChars });
    } catch (err) {
      p.fail('tokenizer.path', (err as Error).message);
    }
  } else if (tok.backend === 'vllm') {
    // A fixed server, else the pool's endpoints in turn (any replica renders the same tokens).
    let rr = 0;
    backend = new VllmTokenizer(() => {
      if (tok.url !== '') return tok.url.replace(/\/+$/, '');
      const eps = pool.endpoints();
      if (eps.length === 0) return null;
      const ep = eps[rr++ % eps.length];
      return `http://${hostPort(ep.address, ep.port)}`;
    });
  }
  const tokenizer = new PromptTokenizer(backend, { timeoutMs: tok.timeoutMs, cacheTokens: tok.cacheTokens });

  const events = new KvEventSource(pool, {
    connect: kv.discoverPods,
    port: kv.port,
    replayPort: kv.replayPort,
    topic: kv.topic,
    reorderGraceMs,
    maxBlocks: maxBlocksPerEndpoint,
    timers: handle.timers,
  });
  const index = events.index;
  const approx = approximateFallback ? prefixCacheScorer(`${name}/approximate`, new Params(`${name}.approximate`, approxParams), handle) : null;

  let keys = new Float64Array(maxBlocks);
  let counts = new Float64Array(pool.capacity);
  let touched = new Int32Array(pool.capacity);
  let approxOut = new Float64Array(pool.capacity);
  let matchBySlot = new Float64Array(pool.capacity);
  // No traffic shares here: the exact index does not spread hot prefixes.
  const published: PrefixMatch = { fraction: (slot) => (slot < matchBySlot.length ? matchBySlot[slot] : 0), hot: () => false, wanted: () => 0 };
  const fallbacks = Object.fromEntries(FALLBACK_REASONS.map((r) => [r, 0])) as Record<FallbackReason, number>;

  function blockSizeFor(slot: number): number {
    if (tokenProcessor.blockSize > 0) return tokenProcessor.blockSize;
    const fromEvents = index.blockSizeOf(slot);
    if (fromEvents > 0) return fromEvents;
    const scraped = pool.cacheBlockSize[slot];
    return scraped > 0 ? scraped : 16;
  }

  function scoreApproximately(cycle: CycleState, cands: Parameters<Scorer['score']>[1], out: Float64Array, reason: FallbackReason): void {
    fallbacks[reason]++;
    if (approx === null) out.fill(0, 0, cands.length);
    else (approx.score as Scorer['score'])(cycle, cands, out);
    for (let k = 0; k < cands.length; k++) matchBySlot[cands.slots[k]] = out[k];
    cycle.set(PREFIX_MATCH, published);
  }

  const scorer: PrecisePrefixCacheScorer = {
    typedName: typed(PRECISE_PREFIX_CACHE_SCORER, name),
    produces: [PREFIX_MATCH],
    statsKey: PRECISE_PREFIX_STATS,
    promptTokenizer: tokenizer,
    events,
    score(cycle, cands, out) {
      const n = cands.length;
      const slots = cands.slots;
      if (counts.length < pool.capacity) {
        counts = new Float64Array(pool.capacity);
        touched = new Int32Array(pool.capacity);
        approxOut = new Float64Array(pool.capacity);
        matchBySlot = new Float64Array(pool.capacity);
      }
      const req = cycle.request;
      const tokens = req.tokenIds;
      if (tokens === null || tokens === undefined) return scoreApproximately(cycle, cands, out, 'no_tokens');
      const bs = n > 0 ? blockSizeFor(slots[0]) : 16;
      if (keys.length < maxBlocks) keys = new Float64Array(maxBlocks);
      const adapter = index.knowsAdapter(req.targetModel) ? req.targetModel : '';
      const nKeys = requestKeys(tokens, bs, maxBlocks, rootKey(adapter), req.cacheSalt, keys);
      // The approximate scores, only when some candidate needs them.
      let needApprox = false;
      for (let k = 0; k < n; k++) {
        const s = slots[k];
        if (!events.reliable(s) || (index.blockSizeOf(s) !== 0 && index.blockSizeOf(s) !== bs)) {
          needApprox = true;
          break;
        }
      }
      if (needApprox && approx !== null) (approx.score as Scorer['score'])(cycle, cands, approxOut);
      const len = nKeys === 0 ? 0 : index.match(keys, nKeys, counts, touched);
      for (let k = 0; k < n; k++) {
        const s = slots[k];
        const ebs = index.blockSizeOf(s);
        if (!events.reliable(s) || (ebs !== 0 && ebs !== bs)) {
          fallbacks[events.reliable(s) ? 'block_size_mismatch' : 'unreliable_endpoint']++;
          out[k] = approx !== null ? approxOut[k] : 0;
        } else out[k] = nKeys === 0 ? 0 : counts[s] / nKeys;
        matchBySlot[s] = out[k];
      }
      for (let t = 0; t < len; t++) counts[touched[t]] = 0;
      cycle.set(PREFIX_MATCH, published);
    },
    preRequest(cycle, picked, count) {
      // Keeps the approximate index warm for the endpoints and requests that fall back to it.
      approx?.preRequest?.(cycle, picked, count);
    },
    stats() {
      const t = events.totals();
      const c = index.counts;
      return {
        events: { stored: c.stored, removed: c.removed, cleared: c.cleared },
        dropped: { ...events.dropped, ...c.skipped, over_capacity: c.overCapacity },
        gaps: t.gaps,
        replays: t.replays,
        resyncs: t.resyncs,
        unreliableEndpoints: t.unreliable,
        blocks: t.blocks,
        keys: index.keys,
        fallbacks: { ...tokenizer.stats.fallbacks, ...fallbacks },
        tokenizer: { requests: tokenizer.stats.requests, cacheHits: tokenizer.stats.cacheHits },
        endpoint: (slot) => events.state(slot),
      };
    },
    async close() {
      await events.close();
      await tokenizer.close();
    },
  };
  return scorer;
};
