/**
 * The lifecycle hooks the director runs: every declared plugin of the `lifecycle` extension point
 * in declaration order, plus the default endpoint latency observer when none is declared (the
 * per-endpoint TTFT/TPOT columns scorers read must exist whatever the config).
 */
import type { PluginInstances } from '../framework/instantiate.js';
import type { PluginHandle } from '../framework/plugin.js';
import type { PluginRegistry } from '../framework/registry.js';
import type { ConfigWarning } from '../warnings.js';
import { isLifecycleHook, type LifecycleHook } from './framework/lifecycle-hook.js';

const DEFAULT_OBSERVER = 'endpoint-latency-observer';

/** The hooks of `plugins`, with the default observer filled in. */
export function buildLifecycleHooks(plugins: PluginInstances, registry: PluginRegistry, handle: PluginHandle, warnings: ConfigWarning[] = []): LifecycleHook[] {
  const hooks: LifecycleHook[] = [];
  let observer = false;
  for (const p of plugins.values()) {
    if (!isLifecycleHook(p)) continue;
    hooks.push(p);
    if (p.typedName.type === DEFAULT_OBSERVER) observer = true;
  }
  if (!observer && registry.has(DEFAULT_OBSERVER)) {
    const p = registry.create(DEFAULT_OBSERVER, DEFAULT_OBSERVER, {}, handle, warnings, 'lifecycle');
    if (isLifecycleHook(p)) hooks.unshift(p);
  }
  return hooks;
}
