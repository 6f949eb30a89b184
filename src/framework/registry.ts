/**
 * The plugin registry: factories by type name, each bound to its extension point. Filled by one
 * explicit list of the built-ins (src/builtin-plugins.ts); no plugin module registers itself on
 * import. Creating a plugin validates its parameters through its own factory and records the
 * parameters it did not read and deprecated type names, as coded warnings.
 */
import { sbError } from '../errors.js';
import { didYouMean } from '../util/nearest.js';
import { sbWarning, type ConfigWarning } from '../warnings.js';
import { ParamError, Params } from './params.js';
import type { ExtensionPoint, Factory, Plugin, PluginHandle } from './plugin.js';

interface Entry {
  point: ExtensionPoint;
  factory: Factory;
  /** The current name, when this type is a deprecated alias. */
  replacement: string | null;
  /** A type whose configured parameters this one inherits (the Go EPP's split producer/scorer pairs). */
  paramsFrom: string | null;
  strictParams: boolean;
}

/** Options of a registration. */
export interface RegisterOptions {
  /** Inherit the parameters of a declared plugin of this type (its own parameters win). */
  paramsFrom?: string;
  /**
   * Unknown parameters are errors, not warnings. For Switchboard's own security-relevant plugins
   * (prompt guards): a misspelt `denyPatterns` must not silently let prompts through.
   */
  strictParams?: boolean;
}

export class PluginRegistry {
  private readonly entries = new Map<string, Entry>();

  /** Registers `factory` under `type` for extension point `point`; a type can be registered once. */
  register<P extends Plugin>(type: string, point: ExtensionPoint, factory: Factory<P>, opts: RegisterOptions = {}): this {
    if (this.entries.has(type)) throw new Error(`plugin type "${type}" registered twice`);
    this.entries.set(type, { point, factory, replacement: null, paramsFrom: opts.paramsFrom ?? null, strictParams: opts.strictParams === true });
    return this;
  }

  /** The type whose parameters `type` inherits, or null. */
  paramsDonor(type: string): string | null {
    return this.entries.get(type)?.paramsFrom ?? null;
  }

  /** Registers `oldType` as a deprecated name of `type` (same factory; using it warns). */
  alias(oldType: string, type: string): this {
    const e = this.entries.get(type);
    if (e === undefined) throw new Error(`alias "${oldType}" of unregistered type "${type}"`);
    if (this.entries.has(oldType)) throw new Error(`plugin type "${oldType}" registered twice`);
    this.entries.set(oldType, { ...e, replacement: type });
    return this;
  }

  /** Whether `type` is registered. */
  has(type: string): boolean {
    return this.entries.has(type);
  }

  /** The extension point of `type`, or null when unknown. */
  pointOf(type: string): ExtensionPoint | null {
    return this.entries.get(type)?.point ?? null;
  }

  /** Registered type names (of one extension point, if given), sorted; deprecated aliases left out. */
  types(point?: ExtensionPoint): string[] {
    const out: string[] = [];
    for (const [t, e] of this.entries) if (e.replacement === null && (point === undefined || e.point === point)) out.push(t);
    return out.sort();
  }

  /**
   * Builds a plugin. Unknown types (with the nearest known name), a type of another extension
   * point than `expect`, and bad parameters throw coded errors naming the plugin; unread
   * parameters and deprecated names are pushed to `warnings`.
   */
  create(type: string, name: string, params: Record<string, unknown>, handle: PluginHandle, warnings: ConfigWarning[] = [], expect?: ExtensionPoint): Plugin {
    const e = this.entries.get(type);
    if (e === undefined) {
      const hint = didYouMean(type, this.types(expect));
      throw sbError('SB_ERR_UNKNOWN_PLUGIN', type, hint !== '' ? hint.slice(2, -1) : `known: ${this.types(expect).join(', ')}`);
    }
    if (expect !== undefined && e.point !== expect)
      throw sbError('SB_ERR_CONFIG', `plugin "${name}" (${type})`, `belongs to extension point "${e.point}", not "${expect}" (${expect}: ${this.types(expect).join(', ')})`);
    if (e.replacement !== null) warnings.push(sbWarning('SB_WARN_DEPRECATED_PLUGIN', name, type, e.replacement));
    const p = new Params(name, params);
    let plugin: Plugin;
    try {
      plugin = e.factory(name, p, handle);
      const unread = p.unread();
      if (unread.length > 0 && e.strictParams) p.fail(unread[0], `is not a parameter of ${type}${didYouMean(unread[0], p.readKeys())}`);
      if (unread.length > 0) warnings.push(sbWarning('SB_WARN_UNKNOWN_PARAMS', name, type, unread.join(', ')));
    } catch (err) {
      const e2 = sbError('SB_ERR_CONFIG', `plugin "${name}" (${type})`, (err as Error).message);
      if (err instanceof ParamError) Object.assign(e2, { param: err });
      throw e2;
    }
    return plugin;
  }
}
