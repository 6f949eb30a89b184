/** Token counts from a response's `usage` object: what admission charges and telemetry counts. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Prompt tokens the engine found in its prefix cache; -1 when the response did not say. */
  cachedTokens: number;
}
