/** Token counts from a response's `usage` object: what admission charges and telemetry counts. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens: number;
}
