/**
 * `http-screening`: asks an external classifier about the prompt (an in-house service, or
 * Google Model Armor's `sanitizeUserPrompt`). One POST per request, bounded by a timeout and a
 * concurrency cap; when the service fails, is slow or answers nonsense, `failureMode` decides:
 * FailOpen allows, FailClose answers 503 (the client may retry; it is not the prompt's fault).
 *
 * Formats:
 * - `switchboard`: `{"requestId","objective","model","targetModel","prompt"}` →
 *   `{"allow": true|false, "reason"?: "..."}`.
 * - `model-armor`: `{"userPromptData":{"text": prompt}}` → `sanitizationResult.filterMatchState`
 *   (`MATCH_FOUND` denies; the reason lists the matching filters).
 */
import { Agent, request, type Dispatcher } from 'undici';
import { sbError } from '../../../errors.js';
import type { Params } from '../../../framework/params.js';
import type { Factory } from '../../../framework/plugin.js';
import { FAILED_OPEN, type GuardInput, type GuardVerdict, type PromptGuard } from '../../framework/prompt-guard.js';

export const HTTP_SCREENING = 'http-screening';

/** The guard's settings, validated by its factory. */
export interface HttpScreeningSettings {
  name: string;
  url: string;
  /** Request format: Switchboard's own JSON, or Google Model Armor's `sanitizeUserPrompt`. */
  format: 'switchboard' | 'model-armor';
  timeoutMs: number;
  /** What an unreachable, slow or malformed screening answer means: allow (`FailOpen`) or 503 (`FailClose`). */
  failureMode: 'FailOpen' | 'FailClose';
  /** Extra request headers (e.g. authorization), lower-case names. */
  headers: Record<string, string>;
  /** Most screening calls in flight; beyond it the failure mode applies. */
  maxConcurrent: number;
}

/** Largest screening answer read. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** Longest reason passed on to the client. */
const MAX_REASON = 200;

/** What the service said, or why it could not say. */
type Screening = { allow: true } | { allow: false; reason: string } | { failed: string };

export class HttpScreeningGuard implements PromptGuard {
  readonly type = HTTP_SCREENING;
  readonly name: string;
  readonly typedName: { type: string; name: string };
  private readonly spec: HttpScreeningSettings;
  private readonly dispatcher: Dispatcher;
  private readonly headers: Record<string, string>;
  private inFlight = 0;

  constructor(spec: HttpScreeningSettings, dispatcher?: Dispatcher) {
    this.spec = spec;
    this.name = spec.name;
    this.typedName = { type: HTTP_SCREENING, name: spec.name };
    this.dispatcher = dispatcher ?? new Agent({ connections: spec.maxConcurrent, keepAliveTimeout: 30_000 });
    this.headers = { ...spec.headers, 'content-type': 'application/json' };
  }

  async check(input: GuardInput): Promise<GuardVerdict> {
    if (this.inFlight >= this.spec.maxConcurrent) return this.failed('too many screening calls in flight');
    this.inFlight++;
    let s: Screening;
    try {
      s = await this.screen(input);
    } finally {
      this.inFlight--;
    }
    if ('failed' in s) return this.failed(s.failed);
    return s.allow ? null : sbError('SB_ERR_GUARD_DENIED', this.name, s.reason);
  }

  /** Closes pooled connections. */
  close(): Promise<void> {
    return this.dispatcher.close();
  }

  private failed(why: string): GuardVerdict {
    return this.spec.failureMode === 'FailOpen' ? FAILED_OPEN : sbError('SB_ERR_GUARD_UNAVAILABLE', this.name, why);
  }

  private async screen(input: GuardInput): Promise<Screening> {
    const r = input.req;
    const text = input.promptText();
    const body =
      this.spec.format === 'model-armor'
        ? JSON.stringify({ userPromptData: { text } })
        : JSON.stringify({ requestId: r.requestId, objective: r.objective, model: r.incomingModel, targetModel: r.targetModel, prompt: text });
    const timeout = AbortSignal.timeout(this.spec.timeoutMs);
    const signal = r.signal === undefined ? timeout : AbortSignal.any([timeout, r.signal]);
    let answer: unknown;
    try {
      const res = await request(this.spec.url, { method: 'POST', headers: this.headers, body, signal, dispatcher: this.dispatcher });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          res.body.destroy();
          return { failed: `answer larger than ${MAX_ANSWER_BYTES} bytes` };
        }
        chunks.push(chunk);
      }
      if (res.statusCode < 200 || res.statusCode > 299) return { failed: `status ${res.statusCode}` };
      answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      if (timeout.aborted) return { failed: `no answer within ${this.spec.timeoutMs}ms` };
      if (r.signal?.aborted === true) return { failed: 'client went away' };
      return { failed: err instanceof SyntaxError ? 'answer is not JSON' : 'request failed' };
    }
    return this.spec.format === 'model-armor' ? modelArmor(answer) : switchboard(answer);
  }
}

function switchboard(a: unknown): Screening {
  if (typeof a !== 'object' || a === null || typeof (a as { allow?: unknown }).allow !== 'boolean') return { failed: 'answer has no boolean "allow"' };
  const o = a as { allow: boolean; reason?: unknown };
  if (o.allow) return { allow: true };
  return { allow: false, reason: typeof o.reason === 'string' && o.reason !== '' ? clean(o.reason) : 'prompt rejected by screening' };
}

function modelArmor(a: unknown): Screening {
  const result = (a as { sanitizationResult?: { filterMatchState?: unknown; filterResults?: unknown } } | null)?.sanitizationResult;
  const state = result?.filterMatchState;
  if (state === 'NO_MATCH_FOUND') return { allow: true };
  if (state !== 'MATCH_FOUND') return { failed: 'answer has no sanitizationResult.filterMatchState' };
  // filterResults: { <filter>: { <kind>FilterResult: { matchState, ... } } }; name the filters that matched.
  const matched: string[] = [];
  const filters = result?.filterResults;
  if (typeof filters === 'object' && filters !== null)
    for (const [name, f] of Object.entries(filters)) if (JSON.stringify(f).includes('"matchState":"MATCH_FOUND"')) matched.push(name);
  return { allow: false, reason: clean(matched.length > 0 ? `Model Armor filters matched: ${matched.join(', ')}` : 'Model Armor filter matched') };
}

/** A reason fit for a response body: one line, bounded. */
function clean(s: string): string {
  const one = s.replace(/[\r\n\t]+/g, ' ');
  return one.length > MAX_REASON ? one.slice(0, MAX_REASON) + '…' : one;
}

/** Reads and checks the guard's parameters. */
export function httpScreeningSettings(name: string, p: Params): HttpScreeningSettings {
  const url = p.string('url', '');
  if (url === '') p.fail('url', 'is required');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return p.fail('url', `is not a valid URL: "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') p.fail('url', 'must be an http or https URL');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.stringMap('headers'))) headers[k.toLowerCase()] = v;
  const timeoutMs = p.durationMs('timeout', 500);
  if (timeoutMs < 1) p.fail('timeout', 'must be at least 1ms');
  return {
    name,
    url,
    format: p.string('format', 'switchboard', ['switchboard', 'model-armor'] as const),
    timeoutMs,
    failureMode: p.string('failureMode', 'FailClose', ['FailOpen', 'FailClose'] as const),
    headers,
    maxConcurrent: p.number('maxConcurrent', 256, { min: 1, integer: true }),
  };
}

export const httpScreening: Factory<HttpScreeningGuard> = (name, p) => new HttpScreeningGuard(httpScreeningSettings(name, p));
