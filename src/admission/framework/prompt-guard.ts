/**
 * Prompt guards: pluggable checks that run before scheduling and may deny a request (403 with
 * the reason). Guards see the prompt's text, the models and the objective; they never log the
 * prompt, and their reasons never quote it.
 */
import type { SwitchboardError } from '../../errors.js';
import type { AdmissionRequest } from './admission-request.js';
import type { Plugin } from '../../framework/plugin.js';
import { promptText } from '../guards/prompt-text.js';

/** What a guard sees of a request. */
export class GuardInput {
  private text: string | null = null;

  constructor(readonly req: AdmissionRequest) {}

  /** Prompt size in bytes as sent (the prompt or messages JSON value). */
  get promptBytes(): number {
    return this.req.promptEnd - this.req.promptStart;
  }

  /** The prompt's plain text, decoded on first use. */
  promptText(): string {
    const r = this.req;
    if (this.text === null) this.text = r.body === null ? '' : promptText(r.body, r.promptStart, r.promptEnd);
    return this.text;
  }
}

/** A screening failure that the guard's failure mode turns into an allow (counted apart). */
export const FAILED_OPEN: unique symbol = Symbol('failed-open');

/** Null allows; an error denies (403) or reports the guard unavailable (503); FAILED_OPEN allows. */
export type GuardVerdict = SwitchboardError | null | typeof FAILED_OPEN;

/** A prompt guard (a plugin of the `prompt-guard` extension point). */
export interface PromptGuard extends Plugin {
  readonly name: string;
  /** Type name for logs and docs (`local-policy`, `http-screening`). */
  readonly type: string;
  check(input: GuardInput): GuardVerdict | Promise<GuardVerdict>;
  /** Releases connections (guards that call a service). */
  close?(): Promise<void>;
}

export function isPromptGuard(p: Plugin): p is PromptGuard {
  return typeof (p as Partial<PromptGuard>).check === 'function';
}
