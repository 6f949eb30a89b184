/**
 * Hardware/model profiles: the constants of the step-cost model and the engine limits.
 *
 * Step cost (µs) = c0 + cPrefill·(uncached prefill tokens) + cDecode·(decode sequences)
 *                + cKv·(context tokens read) + LoRA load time of adapters brought in this step.
 */
import { sbError } from '../errors.js';

/** Every constant of the engine model; all of them can be overridden per run. */
export interface EngineProfile {
  /** Profile name, reported in /metrics labels and reports. */
  name: string;
  /** Served base model name. */
  model: string;
  /** Fixed cost of one engine step, µs. */
  c0Us: number;
  /** Cost per uncached prefill token computed in a step, µs. */
  cPrefillUs: number;
  /** Cost per decode sequence in a step, µs. */
  cDecodeUs: number;
  /** Cost per context token read by attention in a step, µs. */
  cKvUs: number;
  /** Fixed API-server overhead before a request reaches the engine, µs. */
  apiOverheadUs: number;
  /** API-server overhead per input token (tokenisation), µs. */
  apiOverheadPerTokenUs: number;
  /** Token budget of one step (`max_num_batched_tokens`); longer prompts are chunked. */
  maxNumBatchedTokens: number;
  /** Running sequences per step (`max_num_seqs`). */
  maxNumSeqs: number;
  /** Tokens per KV block. */
  blockSize: number;
  /** KV blocks on the device (`num_gpu_blocks`). */
  numGpuBlocks: number;
  /** Maximum prompt + output length (`max_model_len`). */
  maxModelLen: number;
  /** Whether prefix caching is on (`enable_prefix_caching`). */
  enablePrefixCaching: boolean;
  /** Distinct LoRA adapters in one batch (`max_loras`). */
  maxLoras: number;
  /** Adapters kept in the CPU cache (`max_cpu_loras`); loads from it are cheap. */
  maxCpuLoras: number;
  /** Time to move an adapter from the CPU cache to a GPU slot, ms. */
  loraLoadMs: number;
  /** Time to load an adapter that is not in the CPU cache (disk/remote), ms. */
  loraColdLoadMs: number;
  /** Size of the vectors `/v1/embeddings` returns; 0 for a generative model (no embeddings API). */
  embeddingDim: number;
}

/**
 * Llama-3.1-8B, BF16, one H100-80GB. Step constants: BLIS fit for vLLM on H100 TP1 (c0 5.75 ms,
 * decode 6 µs/seq), prefill 25 µs/token (≈ 40k tok/s, llm-d's calibration scaled to 8B/1 GPU),
 * KV read 0.06 µs/token (128 KiB/token at 3.35 TB/s, corrected ×1.5). KV ≈ 29,000 blocks of 16
 * tokens (BLIS auto-derivation). API overhead: BLIS alpha fit. LoRA load costs are estimates
 * (rank-16 adapter ≈ 84 MB over PCIe; cold load from disk), not measurements.
 */
export const LLAMA_31_8B_H100: Readonly<EngineProfile> = Object.freeze({
  name: 'llama-3.1-8b-h100',
  model: 'meta-llama/Llama-3.1-8B-Instruct',
  c0Us: 5750,
  cPrefillUs: 25,
  cDecodeUs: 6,
  cKvUs: 0.06,
  apiOverheadUs: 230,
  apiOverheadPerTokenUs: 1.75,
  maxNumBatchedTokens: 8192,
  maxNumSeqs: 256,
  blockSize: 16,
  numGpuBlocks: 29000,
  maxModelLen: 131072,
  enablePrefixCaching: true,
  maxLoras: 4,
  maxCpuLoras: 8,
  loraLoadMs: 5,
  loraColdLoadMs: 300,
  embeddingDim: 0,
});

/**
 * BAAI/bge-m3 (XLM-RoBERTa large, 568M parameters, 1024-dimensional dense vectors, 8,192-token
 * context) on one H100: an embedding model, served by `/v1/embeddings` only. Step constants are
 * estimates scaled from the 8B profile by parameter count (about 1/14 of the prefill work per
 * token), not measurements; an embedding costs API overhead + c0 + cPrefill per input token.
 */
export const BGE_M3_H100: Readonly<EngineProfile> = Object.freeze({
  ...LLAMA_31_8B_H100,
  name: 'bge-m3-h100',
  model: 'BAAI/bge-m3',
  c0Us: 1500,
  cPrefillUs: 1.8,
  maxModelLen: 8192,
  maxLoras: 0,
  maxCpuLoras: 0,
  embeddingDim: 1024,
});

/**
 * Llama-3.1-8B, BF16, one A100-40GB: a smaller, slower accelerator for mixed fleets. Derived, not
 * measured (no published vLLM figures for this pairing): weight-read floor 16.1 GB / 2.04 TB/s ≈
 * 7.9 ms, scaled by the H100 fit's ratio to its own floor (5.75 / 4.8) → c0 9.5 ms; prefill
 * 16 GFLOP/token at BLIS's A100 roofline MFU 0.38 ≈ 135 µs, scaled by the H100 fit's ratio to its
 * roofline (25 / 32) → 105 µs; KV read 128 KiB / 2.04 TB/s × 1.5 ≈ 0.096 µs/token; KV 0.9 × 40 GB
 * − 16 GB weights ≈ 20 GB ≈ 160k tokens ≈ 10,000 blocks. Cross-check: 8×A100-40GB shared-prefix
 * runs report ITL ≈ 30 ms at high load (GKE Inference Gateway vs round-robin, Principled
 * Technologies), in reach of this model at batch ~100 with 1k-token contexts.
 */
export const LLAMA_31_8B_A100_40GB: Readonly<EngineProfile> = Object.freeze({
  ...LLAMA_31_8B_H100,
  name: 'llama-3.1-8b-a100-40gb',
  c0Us: 9500,
  cPrefillUs: 105,
  cDecodeUs: 9,
  cKvUs: 0.096,
  numGpuBlocks: 10000,
});

/**
 * Llama-3.1-8B, BF16, one NVIDIA L4 (24 GB, 300 GB/s, 121 TFLOPS dense BF16; nvidia.com L4 data
 * sheet). Derived, not measured: weight-read floor 16.1 GB / 0.3 TB/s ≈ 54 ms per step → c0 58 ms;
 * prefill ≈ 415 µs/token at MFU 0.32 (BLIS's L40S value) → 330 µs as a middle of the 250–415
 * range; KV read 128 KiB / 300 GB/s × 1.5 ≈ 0.65 µs/token; KV ≈ 27–34k tokens after the weights →
 * 1,900 blocks; served with `--max-model-len 8192` and `--max-num-seqs 128` as L4 guides do.
 */
export const LLAMA_31_8B_L4: Readonly<EngineProfile> = Object.freeze({
  ...LLAMA_31_8B_H100,
  name: 'llama-3.1-8b-l4',
  c0Us: 58000,
  cPrefillUs: 330,
  cDecodeUs: 20,
  cKvUs: 0.65,
  maxNumBatchedTokens: 2048,
  maxNumSeqs: 128,
  numGpuBlocks: 1900,
  maxModelLen: 8192,
  maxLoras: 2,
  maxCpuLoras: 4,
});

/**
 * Llama-3-8B, BF16, TPU v5e-8 (8 chips × 197 TFLOPS, 16 GB HBM, 819 GB/s; cloud.google.com/tpu/docs/v5e)
 * served by JetStream. Measured anchor: JetStream-PyTorch, ShareGPT, max in/out 1024, 8,249 tok/s
 * at batch 128 (AI-Hypercomputer/jetstream-pytorch benchmarks/summary.md) ≈ 15.5 ms per batch-128
 * step → c0 12 ms + 128 × 20 µs + KV read; prefill 16 GFLOP/token at MFU 0.3 of 1.58 PFLOPS ≈
 * 34 µs; KV ≈ 128 GB − 16 GB weights at 0.9 ≈ 750k tokens ≈ 46,000 blocks; 128 decode slots;
 * no LoRA. The simulator exposes JetStream's metric names for it (`--engine jetstream`).
 */
export const LLAMA_3_8B_TPU_V5E_8: Readonly<EngineProfile> = Object.freeze({
  ...LLAMA_31_8B_H100,
  name: 'llama-3-8b-tpu-v5e-8',
  model: 'meta-llama/Meta-Llama-3-8B-Instruct',
  c0Us: 12000,
  cPrefillUs: 34,
  cDecodeUs: 20,
  cKvUs: 0.02,
  maxNumSeqs: 128,
  numGpuBlocks: 46000,
  maxModelLen: 8192,
  maxLoras: 0,
  maxCpuLoras: 0,
});

/** Named profiles. */
export const PROFILES: Readonly<Record<string, Readonly<EngineProfile>>> = Object.freeze({
  [LLAMA_31_8B_H100.name]: LLAMA_31_8B_H100,
  [BGE_M3_H100.name]: BGE_M3_H100,
  [LLAMA_31_8B_A100_40GB.name]: LLAMA_31_8B_A100_40GB,
  [LLAMA_31_8B_L4.name]: LLAMA_31_8B_L4,
  [LLAMA_3_8B_TPU_V5E_8.name]: LLAMA_3_8B_TPU_V5E_8,
});

/** Default profile name. */
export const DEFAULT_PROFILE = LLAMA_31_8B_H100.name;

const NUMERIC_LIMITS: Partial<Record<keyof EngineProfile, [number, number]>> = {
  c0Us: [0, 1e7],
  cPrefillUs: [0, 1e6],
  cDecodeUs: [0, 1e6],
  cKvUs: [0, 1e6],
  apiOverheadUs: [0, 1e7],
  apiOverheadPerTokenUs: [0, 1e6],
  maxNumBatchedTokens: [1, 1e7],
  maxNumSeqs: [1, 1e6],
  blockSize: [1, 1024],
  numGpuBlocks: [1, 1e8],
  maxModelLen: [1, 1e8],
  maxLoras: [0, 1024],
  maxCpuLoras: [0, 1e6],
  loraLoadMs: [0, 1e7],
  loraColdLoadMs: [0, 1e7],
  embeddingDim: [0, 65536],
};

/** The named profile with `overrides` applied and checked; throws SB_ERR_CONFIG on bad values. */
export function resolveProfile(name: string = DEFAULT_PROFILE, overrides: Partial<EngineProfile> = {}): EngineProfile {
  const base = PROFILES[name];
  if (base === undefined) {
    throw sbError('SB_ERR_CONFIG', 'profile', `unknown profile "${name}" (known: ${Object.keys(PROFILES).join(', ')})`);
  }
  const out: EngineProfile = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in base)) throw sbError('SB_ERR_CONFIG', `profile.${key}`, 'unknown engine setting');
    const k = key as keyof EngineProfile;
    if (k === 'name' || k === 'model') {
      if (typeof value !== 'string' || value === '') throw sbError('SB_ERR_CONFIG', `profile.${k}`, 'must be a non-empty string');
      out[k] = value;
    } else if (k === 'enablePrefixCaching') {
      if (typeof value !== 'boolean') throw sbError('SB_ERR_CONFIG', `profile.${k}`, 'must be true or false');
      out[k] = value;
    } else {
      const [lo, hi] = NUMERIC_LIMITS[k] ?? [0, Infinity];
      if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value > hi) {
        throw sbError('SB_ERR_CONFIG', `profile.${k}`, `must be a number in [${lo}, ${hi}]`);
      }
      out[k] = value;
    }
  }
  for (const k of ['maxNumBatchedTokens', 'maxNumSeqs', 'blockSize', 'numGpuBlocks', 'maxModelLen', 'maxLoras', 'maxCpuLoras', 'embeddingDim'] as const) {
    if (!Number.isInteger(out[k])) throw sbError('SB_ERR_CONFIG', `profile.${k}`, 'must be an integer');
  }
  if (out.maxCpuLoras < out.maxLoras) out.maxCpuLoras = out.maxLoras;
  return out;
}

/** Engine settings that the scenario/CLI may override, in kebab-case flag form. */
export const PROFILE_KEYS = Object.keys(LLAMA_31_8B_H100) as Array<keyof EngineProfile>;
