/**
 * `local-policy`: the built-in guard that needs no service. In order (cheapest first): the
 * prompt size limit, the models allowed for the request's objective, the deny patterns.
 */
import type { LocalPolicyGuardSpec } from '../../config/types.js';
import { sbError } from '../../errors.js';
import type { GuardInput, GuardVerdict, PromptGuard } from './prompt-guard.js';

/** Objective key in `allowedModels` for objectives not listed (and requests naming none). */
const ANY_OBJECTIVE = '*';
const ANY_MODEL = '*';

/**
 * Compiles a deny pattern. The `u` flag only when the pattern needs it (non-ASCII text, `\p{…}`,
 * `\u{…}`): case-insensitive matching with `u` measured 13× slower on a 1 KB prompt. Throws
 * SyntaxError on a bad pattern.
 */
export function denyPattern(pattern: string, ignoreCase: boolean): RegExp {
  const unicode = /[^\x00-\x7f]|\\[pPu]\{/.test(pattern);
  return new RegExp(pattern, (ignoreCase ? 'i' : '') + (unicode ? 'u' : ''));
}

export class LocalPolicyGuard implements PromptGuard {
  readonly type = 'local-policy';
  readonly name: string;
  private readonly maxBytes: number;
  private readonly patterns: RegExp[];
  private readonly allowed: Map<string, ReadonlySet<string>>;

  constructor(spec: LocalPolicyGuardSpec) {
    this.name = spec.name;
    this.maxBytes = spec.maxPromptBytes;
    this.patterns = spec.denyPatterns.map((p) => denyPattern(p, spec.ignoreCase));
    this.allowed = new Map(spec.allowedModels.map((e) => [e.objective, new Set(e.models)]));
  }

  check(input: GuardInput): GuardVerdict {
    const r = input.req;
    if (this.maxBytes > 0 && input.promptBytes > this.maxBytes)
      return this.deny(`prompt is ${input.promptBytes} bytes, more than the ${this.maxBytes} allowed`);
    if (this.allowed.size > 0) {
      const models = this.allowed.get(r.objective) ?? this.allowed.get(ANY_OBJECTIVE);
      if (models !== undefined && !models.has(ANY_MODEL) && !models.has(r.incomingModel)) {
        const objective = r.objective === '' ? 'no objective' : `objective "${r.objective}"`;
        return this.deny(`model "${r.incomingModel}" is not allowed for ${objective}`);
      }
    }
    if (this.patterns.length > 0) {
      const text = input.promptText();
      // The reason names the rule by position, never the matched text.
      for (let i = 0; i < this.patterns.length; i++) if (this.patterns[i].test(text)) return this.deny(`prompt matches deny pattern ${i + 1}`);
    }
    return null;
  }

  private deny(reason: string): GuardVerdict {
    return sbError('SB_ERR_GUARD_DENIED', this.name, reason);
  }
}
