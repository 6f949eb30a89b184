/**
 * vLLM KV-cache event payloads, parsed at the edge. Every shape a supported vLLM release sends is
 * accepted (facts and PR numbers in docs/kv-events.md):
 *
 * - the batch: positional `[ts, events, data_parallel_rank?]` (msgspec `array_like`) or a map;
 * - each event: a tagged array `[tag, fields…]` (before vllm#42892: trailing defaults trimmed,
 *   no-default fields as nil) or a map with `type` and the field names (after it);
 * - block hashes: unsigned 64-bit ints (BigInt here; smaller values arrive as plain numbers) or
 *   digest bytes (`VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=0`), both folded to one opaque number.
 *
 * Anything else is hostile: the batch or the event is dropped with a reason the caller counts.
 * Unknown fields are ignored (vLLM adds fields at the end); unknown event tags drop that event only.
 */
import { Decoder } from '@msgpack/msgpack';

/** Limits on one payload; beyond them a batch or event is dropped, never partly trusted. */
export interface DecodeLimits {
  /** Most events per batch. */
  maxEvents: number;
  /** Most block hashes per event. */
  maxBlocksPerEvent: number;
  /** Largest block size in tokens. */
  maxBlockSize: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxEvents: 4096, maxBlocksPerEvent: 8192, maxBlockSize: 1024 };

/** Blocks became cached (`BlockStored`). `tokens.length === hashes.length * blockSize`. */
export interface BlockStored {
  readonly type: 'stored';
  /** Engine block hashes, folded (see `foldHash`); opaque ids. */
  readonly hashes: number[];
  /** Engine hash of the first block's parent, folded; null for a chain's first block. */
  readonly parent: number | null;
  readonly tokens: Int32Array;
  readonly blockSize: number;
  /** LoRA adapter name (newer releases), else null. */
  readonly loraName: string | null;
  /** Storage tier: "GPU", "CPU", ...; null when the release does not send it (GPU). */
  readonly medium: string | null;
  /** Per-block extra keys folded into the block's identity (cache salt, MM hashes), or null. */
  readonly extraKeys: ReadonlyArray<string | null> | null;
}

/** Blocks left the cache (`BlockRemoved`). */
export interface BlockRemoved {
  readonly type: 'removed';
  readonly hashes: number[];
  readonly medium: string | null;
}

/** Every block was dropped (`AllBlocksCleared`, after a prefix-cache reset). */
export interface AllBlocksCleared {
  readonly type: 'cleared';
}

export type KvEvent = BlockStored | BlockRemoved | AllBlocksCleared;

/** One decoded `KVEventBatch`. */
export interface KvEventBatch {
  /** Publisher timestamp, seconds. */
  readonly ts: number;
  readonly events: KvEvent[];
  /** Data-parallel rank, or null. */
  readonly dpRank: number | null;
  /** Events dropped from this batch, by reason (unknown tag, bad fields, over limits). */
  readonly dropped: readonly DropReason[];
}

export type DropReason =
  | 'msgpack' // not msgpack at all
  | 'batch_shape' // not a batch
  | 'too_many_events'
  | 'event_shape' // an event that is neither a tagged array nor a map with a type
  | 'unknown_tag'
  | 'bad_field' // a field of the wrong type
  | 'too_many_blocks'
  | 'token_count'; // token_ids do not fill the blocks exactly

export type DecodeResult = { ok: true; batch: KvEventBatch } | { ok: false; reason: DropReason };

const TWO32 = 4294967296;

/**
 * One engine hash as a 53-bit number: the low 53 bits of the 64-bit value (ints), or of the last
 * 8 bytes big-endian (digest bytes, as llm-d reads them). Engine hashes are only ids for removals
 * and parent lookups within one endpoint, so the fold's rare collisions cost a missed match.
 * Returns NaN for anything else.
 */
export function foldHash(v: unknown): number {
  if (typeof v === 'bigint') {
    const u = BigInt.asUintN(64, v);
    return Number((u >> 32n) & 0x1fffffn) * TWO32 + Number(u & 0xffffffffn);
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return NaN;
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) return v % (0x200000 * TWO32);
    return foldHash(BigInt(v));
  }
  if (v instanceof Uint8Array) {
    const n = v.length;
    if (n === 0 || n > 64) return NaN;
    let hi = 0;
    let lo = 0;
    for (let i = Math.max(0, n - 8); i < n; i++) {
      hi = ((hi << 8) | (lo >>> 24)) >>> 0;
      lo = ((lo << 8) | v[i]) >>> 0;
    }
    return (hi & 0x1fffff) * TWO32 + lo;
  }
  return NaN;
}

// One decoder: `useBigInt64` turns (u)int64 into BigInt, so no hash loses bits in a double.
const decoder = new Decoder({ useBigInt64: true, maxStrLength: 1 << 20, maxBinLength: 1 << 20, maxArrayLength: 1 << 22, maxMapLength: 1 << 16 });

/** Decodes one msgpack payload into a batch. Never throws. */
export function decodeBatch(payload: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): DecodeResult {
  let raw: unknown;
  try {
    raw = decoder.decode(payload);
  } catch {
    return { ok: false, reason: 'msgpack' };
  }
  let ts: unknown;
  let events: unknown;
  let rank: unknown = null;
  if (Array.isArray(raw)) [ts, events, rank = null] = raw as unknown[];
  else if (isMap(raw)) ({ ts, events, data_parallel_rank: rank = null } = raw as Record<string, unknown>);
  else return { ok: false, reason: 'batch_shape' };
  const tsNum = typeof ts === 'bigint' ? Number(ts) : ts;
  if (typeof tsNum !== 'number' || !Array.isArray(events)) return { ok: false, reason: 'batch_shape' };
  if (events.length > limits.maxEvents) return { ok: false, reason: 'too_many_events' };
  const dpRank = typeof rank === 'number' && Number.isInteger(rank) && rank >= 0 ? rank : null;
  const out: KvEvent[] = [];
  const dropped: DropReason[] = [];
  for (const e of events) {
    const r = decodeEvent(e, limits);
    if (typeof r === 'string') dropped.push(r);
    else out.push(r);
  }
  return { ok: true, batch: { ts: tsNum, events: out, dpRank, dropped } };
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

const STORED_FIELDS = ['block_hashes', 'parent_block_hash', 'token_ids', 'block_size', 'lora_id', 'medium', 'lora_name', 'extra_keys'] as const;
const REMOVED_FIELDS = ['block_hashes', 'medium'] as const;

/** Fields of a tagged array or a typed map, by name. */
function fieldsOf(e: unknown): { tag: unknown; get(name: string, pos: number): unknown } | null {
  if (Array.isArray(e)) {
    if (e.length === 0) return null;
    return { tag: e[0], get: (_n, pos) => e[pos + 1] ?? null };
  }
  if (isMap(e)) return { tag: e.type, get: (n) => e[n] ?? null };
  return null;
}

function decodeEvent(e: unknown, limits: DecodeLimits): KvEvent | DropReason {
  const f = fieldsOf(e);
  if (f === null || typeof f.tag !== 'string') return 'event_shape';
  switch (f.tag) {
    case 'BlockStored': {
      const hashes = hashList(f.get('block_hashes', 0), limits);
      if (typeof hashes === 'string') return hashes;
      const parentRaw = f.get('parent_block_hash', 1);
      const parent = parentRaw === null ? null : foldHash(parentRaw);
      if (parent !== null && Number.isNaN(parent)) return 'bad_field';
      const bsRaw = f.get('block_size', 3);
      const blockSize = typeof bsRaw === 'number' ? bsRaw : NaN;
      if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > limits.maxBlockSize) return 'bad_field';
      const tokRaw = f.get('token_ids', 2);
      if (!Array.isArray(tokRaw)) return 'bad_field';
      if (tokRaw.length !== hashes.length * blockSize) return 'token_count';
      const tokens = new Int32Array(tokRaw.length);
      for (let i = 0; i < tokRaw.length; i++) {
        const t = tokRaw[i];
        if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 0x7fffffff) return 'bad_field';
        tokens[i] = t;
      }
      const medium = optString(f.get('medium', 5));
      const loraName = optString(f.get('lora_name', 6));
      if (medium === undefined || loraName === undefined) return 'bad_field';
      const extraKeys = extraKeyList(f.get('extra_keys', 7), hashes.length);
      if (extraKeys === undefined) return 'bad_field';
      return { type: 'stored', hashes, parent, tokens, blockSize, loraName, medium, extraKeys };
    }
    case 'BlockRemoved': {
      const hashes = hashList(f.get('block_hashes', 0), limits);
      if (typeof hashes === 'string') return hashes;
      const medium = optString(f.get('medium', 1));
      if (medium === undefined) return 'bad_field';
      return { type: 'removed', hashes, medium };
    }
    case 'AllBlocksCleared':
      return { type: 'cleared' };
    default:
      return 'unknown_tag';
  }
}

function hashList(v: unknown, limits: DecodeLimits): number[] | DropReason {
  if (!Array.isArray(v)) return 'bad_field';
  if (v.length > limits.maxBlocksPerEvent) return 'too_many_blocks';
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) {
    const h = foldHash(v[i]);
    if (Number.isNaN(h)) return 'bad_field';
    out[i] = h;
  }
  return out;
}

/** A string, null when absent, undefined when of the wrong type. */
function optString(v: unknown): string | null | undefined {
  if (v === null) return null;
  return typeof v === 'string' ? v : undefined;
}

/**
 * `extra_keys`: one entry per block, null or an array of keys (strings, [string, offset] MM keys,
 * bytes digests). Each entry is flattened to one string so it can be folded into the block's key;
 * undefined when the shape is wrong.
 */
function extraKeyList(v: unknown, blocks: number): Array<string | null> | null | undefined {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length !== blocks) return undefined;
  const out: Array<string | null> = [];
  for (const entry of v) {
    if (entry === null) {
      out.push(null);
      continue;
    }
    if (!Array.isArray(entry) || entry.length > 64) return undefined;
    let s = '';
    for (const k of entry) {
      if (typeof k === 'string') s += `${k}\u0000`;
      else if (Array.isArray(k) && typeof k[0] === 'string') s += `${k[0]}@${String(k[1])}\u0000`;
      else if (k instanceof Uint8Array) s += `${Buffer.from(k).toString('hex')}\u0000`;
      else if (typeof k === 'number' || typeof k === 'bigint') s += `${String(k)}\u0000`;
      else return undefined;
    }
    out.push(s);
  }
  return out;
}

/** Sequence number of a message frame: 8 bytes big-endian; NaN for anything else. */
export function decodeSeq(frame: Uint8Array): number {
  if (frame.length !== 8) return NaN;
  const v = new DataView(frame.buffer, frame.byteOffset, 8);
  const hi = v.getUint32(0);
  // The replay end marker is FF×8; anything past 2^53 is not a sequence a publisher reaches.
  if (hi > 0x1fffff) return hi === 0xffffffff && v.getUint32(4) === 0xffffffff ? END_OF_REPLAY : NaN;
  return hi * TWO32 + v.getUint32(4);
}

/** `decodeSeq` of the replay end marker (FF×8). */
export const END_OF_REPLAY = -1;

/** 8-byte big-endian frame for `seq` (a replay request's start). */
export function encodeSeq(seq: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(seq / TWO32), 0);
  b.writeUInt32BE(seq >>> 0, 4);
  return b;
}
