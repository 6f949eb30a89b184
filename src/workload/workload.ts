/**
 * Turns a scenario's workload into concrete OpenAI requests: shared system prompts per group,
 * fresh questions, multi-turn sessions whose context grows by each answer, LoRA adapters by
 * popularity, and lengths drawn from the scenario's distributions.
 *
 * Everything is derived from the scenario seed and the arrival index (or session and turn),
 * never from processing order, so every policy in a comparison sees the same requests.
 */
import { renderChat, type ChatMessage } from './chat-template.js';
import { Rng, hashString, mix32 } from '../util/random.js';
import { synthText } from './tokenizer.js';
import { weightedPicker } from './distributions.js';
import type { Arrival } from './arrivals.js';
import type { RequestRecord } from './metrics.js';
import type { Scenario, TenantSpec } from './scenario.js';
import type { TraceRecord } from './trace.js';
import { FAIRNESS_ID_HEADER } from '../request/headers.js';

/** One request to send. */
export interface WorkRequest {
  id: string;
  stage: number;
  /** Session index, or -1. */
  session: number;
  /** Turn within the session (0-based), or -1. */
  turn: number;
  /** Shared-prefix group, or -1. */
  group: number;
  /** Tenant name (scenario `workload.tenants`), or null. */
  tenant: string | null;
  /** Request headers of the tenant, or null. */
  headers: Readonly<Record<string, string>> | null;
  /** Model field: the adapter name, or the base model. */
  model: string;
  lora: string | null;
  api: 'completions' | 'chat';
  /** Completions prompt (null for chat). */
  prompt: string | null;
  /** Chat messages (null for completions). */
  messages: ChatMessage[] | null;
  maxTokens: number;
}

/** Per-session state between turns. */
export interface SessionState {
  index: number;
  /** Tenant index, or -1. */
  tenant: number;
  turns: number;
  turn: number;
  group: number;
  model: string;
  lora: string | null;
  /** Context so far (completions) or messages so far (chat). */
  prompt: string;
  messages: ChatMessage[];
}

export class WorkloadGenerator {
  private readonly systemPrompts = new Map<number, string>();
  private readonly traceTenants = new Map<string, Readonly<Record<string, string>>>();
  private readonly pickAdapter: ((rng: Rng) => number) | null;
  private readonly root: Rng;

  constructor(
    private readonly scenario: Scenario,
    /** Model named in requests for the base model. */
    readonly baseModel: string,
  ) {
    this.root = new Rng(scenario.seed);
    const lora = scenario.workload.lora;
    this.pickAdapter = lora === null ? null : weightedPicker(lora.weights, 'workload.lora.popularity');
  }

  /** Whether arrivals start sessions rather than single requests. */
  get multiTurn(): boolean {
    return this.scenario.workload.sessions !== null;
  }

  /** The request (or session's first turn) for an arrival. */
  first(a: Arrival): { request: WorkRequest; session: SessionState | null } {
    const tr = this.scenario.trace;
    if (tr !== undefined && tr !== null) return { request: this.fromTrace(tr.trace.records[a.index], a), session: null };
    const w = this.scenario.workload;
    const rng = this.root.fork(`arrival-${a.index}`);
    // The tenant comes from its own stream, so scenarios without tenants draw exactly as before.
    const tenant = w.pickTenant === null ? -1 : w.pickTenant(this.root.fork(`tenant-${a.index}`));
    const t = tenant >= 0 ? (w.tenants as TenantSpec[])[tenant] : null;
    const group = w.sharedPrefix === null ? -1 : w.sharedPrefix.pickGroup(rng);
    const { model, lora } = this.pickModel(rng);
    const question = synthText(mix32(rng.nextU32()), (t?.input ?? w.input)(rng));
    const maxTokens = (t?.output ?? w.output)(rng);
    const system = group >= 0 ? this.systemPrompt(group) : null;
    const session: SessionState | null =
      w.sessions === null
        ? null
        : { index: a.index, tenant, turns: w.sessions.turns(rng), turn: 0, group, model, lora, prompt: '', messages: [] };
    const req = this.build(a.stage, session, group, model, lora, system, question, maxTokens, `req-${a.index}`, tenant);
    if (session !== null) {
      session.prompt = req.prompt ?? '';
      session.messages = req.messages ?? [];
    }
    return { request: req, session };
  }

  /**
   * The next turn of `s` after the answer `answer`, to send `delayMs` after the answer arrived;
   * null when the session is over. Its `stage` is -1: the caller sets it from the send time.
   */
  next(s: SessionState, answer: string): { request: WorkRequest; delayMs: number } | null {
    const spec = this.scenario.workload.sessions;
    if (spec === null || s.turn + 1 >= s.turns) return null;
    s.turn++;
    const rng = this.root.fork(`session-${s.index}-turn-${s.turn}`);
    const question = synthText(mix32(rng.nextU32()), spec.followUp(rng));
    const t = s.tenant >= 0 ? (this.scenario.workload.tenants as TenantSpec[])[s.tenant] : null;
    const maxTokens = (t?.output ?? this.scenario.workload.output)(rng);
    const delayMs = Math.max(0, spec.thinkTimeS(rng) * 1000);
    // Answers from real servers may not end in whitespace; keep the next question a new token.
    const sep = /\s$/.test(answer) || answer === '' ? '' : '\n';
    let req: WorkRequest;
    const id = `s${s.index}-t${s.turn}`;
    if (this.scenario.workload.api === 'chat') {
      s.messages = [...s.messages, { role: 'assistant', content: answer }, { role: 'user', content: question }];
      req = this.request(id, -1, s, s.group, null, s.messages, maxTokens);
    } else {
      s.prompt = s.prompt + answer + sep + question;
      req = this.request(id, -1, s, s.group, s.prompt, null, maxTokens);
    }
    return { request: req, delayMs };
  }

  /** The JSON body of `r` (streamed, with the final usage chunk). */
  body(r: WorkRequest): Buffer {
    const o: Record<string, unknown> = { model: r.model };
    if (r.api === 'chat') o.messages = r.messages;
    else o.prompt = r.prompt;
    o.max_tokens = r.maxTokens;
    o.ignore_eos = true;
    o.stream = true;
    o.stream_options = { include_usage: true };
    return Buffer.from(JSON.stringify(o));
  }

  /** Path of the OpenAI endpoint for `r`. */
  static path(r: WorkRequest): string {
    return r.api === 'chat' ? '/v1/chat/completions' : '/v1/completions';
  }

  private build(
    stage: number,
    session: SessionState | null,
    group: number,
    model: string,
    lora: string | null,
    system: string | null,
    question: string,
    maxTokens: number,
    id: string,
    tenant: number,
  ): WorkRequest {
    if (this.scenario.workload.api === 'chat') {
      const messages: ChatMessage[] = [];
      if (system !== null) messages.push({ role: 'system', content: system });
      messages.push({ role: 'user', content: question });
      return this.request(session === null ? id : `s${session.index}-t0`, stage, session, group, null, messages, maxTokens, model, lora, tenant);
    }
    const prompt = (system ?? '') + question;
    return this.request(session === null ? id : `s${session.index}-t0`, stage, session, group, prompt, null, maxTokens, model, lora, tenant);
  }

  private request(
    id: string,
    stage: number,
    s: SessionState | null,
    group: number,
    prompt: string | null,
    messages: ChatMessage[] | null,
    maxTokens: number,
    model = s?.model ?? this.baseModel,
    lora = s?.lora ?? null,
    tenant = s?.tenant ?? -1,
  ): WorkRequest {
    const t = tenant >= 0 ? (this.scenario.workload.tenants as TenantSpec[])[tenant] : null;
    return {
      id,
      stage,
      tenant: t?.name ?? null,
      headers: t?.headers ?? null,
      session: s === null ? -1 : s.index,
      turn: s === null ? -1 : s.turn,
      group,
      model,
      lora,
      api: this.scenario.workload.api,
      prompt,
      messages: messages === null ? null : [...messages],
      maxTokens,
    };
  }

  /**
   * A trace record's request: the group's shared prefix (the same words for every request of the
   * group, cut to the record's `prefix_tokens`), then fresh words up to `input_tokens`.
   */
  private fromTrace(r: TraceRecord, a: Arrival): WorkRequest {
    const rng = this.root.fork(`arrival-${a.index}`);
    const system = r.prefixGroup === null ? null : synthText(hashString(`trace-prefix-${this.scenario.seed}-${r.prefixGroup}`), r.prefixTokens);
    const question = synthText(mix32(rng.nextU32()), r.inputTokens - r.prefixTokens);
    const model = r.adapter ?? this.baseModel;
    const req = this.build(a.stage, null, -1, model, r.adapter, system, question, r.outputTokens, `req-${a.index}`, -1);
    if (r.tenant !== null) {
      req.tenant = r.tenant;
      req.headers = this.tenantHeaders(r.tenant);
    }
    return req;
  }

  /** Headers for a trace's tenant: the scenario tenant's of that name, else the fairness id. */
  private tenantHeaders(name: string): Readonly<Record<string, string>> {
    let h = this.traceTenants.get(name);
    if (h === undefined) {
      const t = this.scenario.workload.tenants?.find((x) => x.name === name);
      h = t?.headers ?? { [FAIRNESS_ID_HEADER]: name };
      this.traceTenants.set(name, h);
    }
    return h;
  }

  private pickModel(rng: Rng): { model: string; lora: string | null } {
    const l = this.scenario.workload.lora;
    if (l === null || this.pickAdapter === null) return { model: this.baseModel, lora: null };
    if (l.baseFraction > 0 && rng.next() < l.baseFraction) return { model: this.baseModel, lora: null };
    const name = l.adapters[this.pickAdapter(rng)];
    return { model: name, lora: name };
  }

  private systemPrompt(group: number): string {
    let s = this.systemPrompts.get(group);
    if (s === undefined) {
      const sp = this.scenario.workload.sharedPrefix;
      const rng = this.root.fork(`system-${group}`);
      const tokens = sp === null ? 0 : sp.systemTokens(rng);
      s = synthText(hashString(`system-${this.scenario.seed}-${group}`), tokens);
      this.systemPrompts.set(group, s);
    }
    return s;
  }
}

/** The prompt text the server will tokenize: the completions prompt, or the rendered chat. */
export function promptText(r: WorkRequest): string {
  return r.api === 'chat' ? renderChat(r.messages ?? []) : (r.prompt ?? '');
}

/** A fresh, not-yet-finished record for `r`, started at `start`. */
export function newRecord(r: WorkRequest, start: number, promptTokens: number): RequestRecord {
  return {
    id: r.id,
    stage: r.stage,
    pod: -1,
    lora: r.lora,
    tenant: r.tenant,
    session: r.session,
    turn: r.turn,
    start,
    firstToken: NaN,
    lastToken: NaN,
    end: NaN,
    ok: false,
    error: null,
    promptTokens,
    outputTokens: 0,
    cachedTokens: -1,
    itl: [],
  };
}
