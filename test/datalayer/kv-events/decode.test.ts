/**
 * Every payload shape a supported vLLM release sends, encoded here by hand with @msgpack/msgpack
 * (independent of the simulator's encoder), and hostile payloads.
 */
import { Encoder } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeBatch, decodeSeq, encodeSeq, END_OF_REPLAY, foldHash, type BlockStored } from '../../../src/datalayer/kv-events/decode.js';

const enc = new Encoder({ useBigInt64: true });
// The reference vectors' event ints (sha256_cbor, seed "vllm-none-hash", tokens 1..16 and 17..32).
const B1 = 8866452693264111234n;
const B2 = 807986237951177663n;
const tokens = Array.from({ length: 32 }, (_, i) => i + 1);

function digest(low64: bigint): Uint8Array {
  const b = Buffer.alloc(32, 0xab);
  b.writeBigUInt64BE(low64, 24);
  return b;
}

const cases: Array<{ name: string; payload: unknown }> = [
  {
    name: 'tagged arrays, uint64 hashes, positional batch (before vllm#42892; v0.26.0 batch form)',
    payload: [1.5, [['BlockStored', [B1, B2], null, tokens, 16, null, 'GPU']]],
  },
  {
    name: 'tagged arrays with lora_name and extra_keys (newer fields appended)',
    payload: [1.5, [['BlockStored', [B1, B2], null, tokens, 16, null, 'GPU', null, null, 0]], 0],
  },
  {
    name: 'tagged arrays, trimmed (only the four original fields: vllm#16750)',
    payload: [1.5, [['BlockStored', [B1, B2], null, tokens, 16]]],
  },
  {
    name: 'maps keyed by type (after vllm#42892), unknown fields ignored',
    payload: [1.5, [{ type: 'BlockStored', block_hashes: [B1, B2], parent_block_hash: null, token_ids: tokens, block_size: 16, medium: 'GPU', group_idx: 0, kv_cache_spec_kind: 'full' }]],
  },
  {
    name: 'a map batch with digest-bytes hashes (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=0)',
    payload: { ts: 1.5, events: [{ type: 'BlockStored', block_hashes: [digest(B1), digest(B2)], parent_block_hash: null, token_ids: tokens, block_size: 16 }], data_parallel_rank: 1 },
  },
];

describe('decodeBatch', () => {
  for (const c of cases) {
    it(`decodes ${c.name}`, () => {
      const r = decodeBatch(enc.encode(c.payload));
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.batch.ts).toBe(1.5);
      expect(r.batch.dropped).toEqual([]);
      const e = r.batch.events[0] as BlockStored;
      expect(e.type).toBe('stored');
      // Both int and bytes forms fold to the same opaque id (the low 53 bits of the low 64).
      expect(e.hashes).toEqual([foldHash(B1), foldHash(B2)]);
      expect(e.parent).toBeNull();
      expect(Array.from(e.tokens)).toEqual(tokens);
      expect(e.blockSize).toBe(16);
    });
  }

  it('decodes BlockRemoved and AllBlocksCleared in both encodings, and the rank', () => {
    const a = decodeBatch(enc.encode([2, [['BlockRemoved', [B1], 'GPU'], ['AllBlocksCleared']], 3]));
    const m = decodeBatch(enc.encode([2, [{ type: 'BlockRemoved', block_hashes: [B1], medium: 'CPU' }, { type: 'AllBlocksCleared' }]]));
    expect(a.ok && a.batch.events).toEqual([{ type: 'removed', hashes: [foldHash(B1)], medium: 'GPU' }, { type: 'cleared' }]);
    expect(a.ok && a.batch.dpRank).toBe(3);
    expect(m.ok && m.batch.events[0]).toEqual({ type: 'removed', hashes: [foldHash(B1)], medium: 'CPU' });
  });

  it('keeps parent hashes, lora names and per-block extra keys', () => {
    const r = decodeBatch(enc.encode([0, [{ type: 'BlockStored', block_hashes: [B2], parent_block_hash: B1, token_ids: tokens.slice(16), block_size: 16, lora_name: 'tenant-a', extra_keys: [['salt', ['mm', 3]]] }]]));
    const e = r.ok ? (r.batch.events[0] as BlockStored) : null;
    expect(e?.parent).toBe(foldHash(B1));
    expect(e?.loraName).toBe('tenant-a');
    expect(e?.extraKeys).toEqual(['salt\u0000mm@3\u0000']);
  });

  const hostile: Array<{ name: string; payload: Uint8Array; reason: string }> = [
    { name: 'garbage bytes', payload: Uint8Array.from([0xc1, 0x00]), reason: 'msgpack' },
    { name: 'a number instead of a batch', payload: enc.encode(42), reason: 'batch_shape' },
    { name: 'events not an array', payload: enc.encode([1, 'x']), reason: 'batch_shape' },
    { name: 'a huge batch', payload: enc.encode([1, Array.from({ length: 5000 }, () => ['AllBlocksCleared'])]), reason: 'too_many_events' },
  ];
  for (const h of hostile) {
    it(`drops ${h.name}`, () => {
      expect(decodeBatch(h.payload)).toEqual({ ok: false, reason: h.reason });
    });
  }

  const badEvents: Array<{ name: string; event: unknown; reason: string }> = [
    { name: 'an unknown tag', event: ['BlockMoved', [1]], reason: 'unknown_tag' },
    { name: 'a map without type', event: { block_hashes: [1] }, reason: 'event_shape' },
    { name: 'an absurd block count', event: ['BlockStored', Array.from({ length: 9000 }, (_, i) => i), null, [], 1], reason: 'too_many_blocks' },
    { name: 'string hashes', event: ['BlockStored', ['a'], null, [1], 1], reason: 'bad_field' },
    { name: 'a float block size', event: ['BlockStored', [1], null, [1], 1.5], reason: 'bad_field' },
    { name: 'negative token ids', event: ['BlockStored', [1], null, [-1], 1], reason: 'bad_field' },
    { name: 'tokens not filling the blocks', event: ['BlockStored', [1, 2], null, [1, 2, 3], 2], reason: 'token_count' },
    { name: 'a numeric medium', event: ['BlockRemoved', [1], 7], reason: 'bad_field' },
  ];
  for (const b of badEvents) {
    it(`drops only the event with ${b.name}, keeping the rest of the batch`, () => {
      const r = decodeBatch(enc.encode([1, [b.event, ['AllBlocksCleared']]]));
      expect(r.ok && r.batch.dropped).toEqual([b.reason]);
      expect(r.ok && r.batch.events).toEqual([{ type: 'cleared' }]);
    });
  }
});

describe('sequence frames', () => {
  it('round-trips 8-byte big-endian sequence numbers and recognises the end marker', () => {
    for (const s of [0, 1, 255, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER]) expect(decodeSeq(encodeSeq(s))).toBe(s);
    expect(decodeSeq(Buffer.alloc(8, 0xff))).toBe(END_OF_REPLAY);
    expect(decodeSeq(Buffer.alloc(4))).toBeNaN();
  });

  it('folds negative and 64-bit ints like their unsigned form', () => {
    expect(foldHash(-1n)).toBe(foldHash(2n ** 64n - 1n));
    expect(foldHash(-1)).toBe(foldHash(-1n));
    expect(foldHash(1.5)).toBeNaN();
    expect(foldHash('x')).toBeNaN();
  });
});
