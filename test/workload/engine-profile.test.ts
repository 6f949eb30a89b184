import { describe, expect, it } from 'vitest';
import { PROFILES, resolveProfile } from '../../src/workload/engine-profile.js';

/** One decode step of a batch of `seqs` sequences with `ctx` context tokens each, µs. */
function decodeStepUs(name: string, seqs: number, ctx: number): number {
  const p = resolveProfile(name);
  return p.c0Us + p.cDecodeUs * seqs + p.cKvUs * seqs * ctx;
}

describe('engine profiles', () => {
  it('every named profile resolves and passes its own limits', () => {
    for (const name of Object.keys(PROFILES)) {
      const p = resolveProfile(name);
      expect(p.name).toBe(name);
      expect(p.numGpuBlocks * p.blockSize).toBeGreaterThan(p.maxNumBatchedTokens);
    }
  });

  it('orders the accelerators as their specs do: H100 < TPU v5e-8 ≈ A100-40GB < L4 per step, and KV capacity the other way for L4', () => {
    const h100 = decodeStepUs('llama-3.1-8b-h100', 64, 1024);
    const a100 = decodeStepUs('llama-3.1-8b-a100-40gb', 64, 1024);
    const l4 = decodeStepUs('llama-3.1-8b-l4', 64, 1024);
    const tpu = decodeStepUs('llama-3-8b-tpu-v5e-8', 128, 1024);
    expect(h100).toBeLessThan(a100);
    expect(a100).toBeLessThan(l4);
    expect(l4 / h100).toBeGreaterThan(5);
    // The published JetStream anchor: ≈ 15.5 ms per batch-128 step (8,249 tok/s), within 20%.
    expect(tpu).toBeGreaterThan(15_500 * 0.8);
    expect(tpu).toBeLessThan(15_500 * 1.2);
    expect(resolveProfile('llama-3.1-8b-l4').numGpuBlocks).toBeLessThan(resolveProfile('llama-3.1-8b-a100-40gb').numGpuBlocks);
    expect(resolveProfile('llama-3-8b-tpu-v5e-8').maxLoras).toBe(0);
  });
});
