/**
 * Plugin types of Go EPP configs that configure nothing here: Switchboard runs one profile
 * (`single-profile-handler`), its prefix scorer keeps its own index (`approx-prefix-cache-producer`,
 * whose parameters the prefix scorer inherits) and its pool counts in-flight load itself
 * (`inflight-load-producer`); `static-usage-limit-policy` is the Go flow control's default usage
 * limit, which the saturation detector plays here. They load so Go EPP configs work unchanged.
 * See README.md.
 */
import type { Factory, Plugin } from '../../../framework/plugin.js';

export const GO_EPP_COMPAT_TYPES = ['single-profile-handler', 'approx-prefix-cache-producer', 'inflight-load-producer', 'static-usage-limit-policy'] as const;

/** A plugin that holds its parameters (read by whoever inherits them) and does nothing else. */
export interface CompatPlugin extends Plugin {
  readonly parameters: Record<string, unknown>;
}

/** The factory for one compatibility type. */
export function compatPlugin(type: string): Factory<CompatPlugin> {
  return (name, p) => ({ typedName: { type, name }, parameters: p.all() });
}
