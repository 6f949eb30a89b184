/**
 * The director: turns one inference request into a routing decision, the same way for both
 * front doors. In order: inspect the body (selective scan, no re-serialization), resolve the
 * target model (rewrite header, then rewrite rules) and the priority (objective), admit, schedule
 * over the candidates (subset hint, fresh metrics), rewrite the model value if needed, and open
 * the request's accounting.
 */
import { flowId, type Admission, type AdmissionRequest } from '../admission/admission.js';
import type { ModelRewriter, ObjectiveStore } from '../admission/objectives.js';
import { asRequestError, sbError, type SwitchboardError } from '../errors.js';
import type { Endpoint } from '../pool/endpoint.js';
import type { EndpointPool } from '../pool/pool.js';
import { MODEL_REWRITE_HEADER, OBJECTIVE_HEADER, FAIRNESS_ID_HEADER, contentTypeProblem } from '../request/headers.js';
import { inspectRequest, rewriteModel, type RequestView } from '../request/inspect.js';
import type { PromptTokenizer } from '../request/tokenization/prompt-tokenizer.js';
import type { SchedulingRequest } from '../scheduling/framework/cycle.js';
import type { Scheduler } from '../scheduling/scheduler.js';
import type { DecisionSampler } from '../telemetry/dashboard/decisions.js';
import type { Telemetry } from '../telemetry/metrics.js';
import type { LifecycleHook } from './framework/lifecycle-hook.js';
import { Lifecycle } from './lifecycle.js';
import type { Decision, Director, InferenceRequest, RoutedDecision } from './types.js';

/** Average bytes per token for load estimates (the Go EPP's estimator uses 4). */
const BYTES_PER_TOKEN = 4;

/** Minimal logger surface (pino-compatible). */
export interface DirectorLogger {
  isLevelEnabled(level: string): boolean;
  debug(obj: object, msg?: string): void;
}

/** Everything the director works with. */
export interface DirectorOptions {
  pool: EndpointPool;
  scheduler: Scheduler;
  telemetry: Telemetry | null;
  objectives: ObjectiveStore;
  rewriter: ModelRewriter;
  /** Null admits everything. */
  admission: Admission | null;
  /** `openai` inspects the JSON body; `passthrough` routes without reading it. */
  parser: 'openai' | 'passthrough';
  rng: () => number;
  /** Ignore the gateway's subset hint (`--disable-endpoint-subset-filter`). */
  disableSubsetFilter?: boolean;
  logger?: DirectorLogger | null;
  /** Lifecycle hooks told how every routed attempt ended (none when absent). */
  hooks?: readonly LifecycleHook[];
  /** Samples explained decisions for the live dashboard; asks nothing of a cycle while no one watches. */
  decisions?: DecisionSampler | null;
  /** Tokenizes prompts before scheduling when a plugin keys blocks by tokens (precise prefix matching); null otherwise. */
  promptTokenizer?: PromptTokenizer | null;
}

/** Everything a routed decision is made of. */
interface RouteInput {
  req: InferenceRequest;
  endpoints: Endpoint[];
  /** The body to send (rewritten when the model was), or null to send the original. */
  body: Buffer | null;
  bodyRewritten: boolean;
  incomingModel: string;
  targetModel: string;
  priority: number;
  stream: boolean;
  /** Estimated tokens (prompt plus expected output) charged to the endpoint. */
  tokens: number;
  /** Estimated uncached prompt tokens, pending until the first token. */
  prefillTokens: number;
  startedAt: number;
  explanation: RoutedDecision['explanation'];
  areq: AdmissionRequest | null;
}

/** A header-only request carries no model, body or estimates. */
const HEADER_ONLY_ROUTE = {
  body: null,
  bodyRewritten: false,
  incomingModel: '',
  targetModel: '',
  priority: 0,
  stream: false,
  tokens: 0,
  prefillTokens: 0,
  explanation: null,
  areq: null,
} as const;

export class RequestDirector implements Director {
  private readonly o: DirectorOptions;
  private readonly hooks: readonly LifecycleHook[];

  constructor(opts: DirectorOptions) {
    this.o = opts;
    this.hooks = opts.hooks ?? [];
  }

  async handleRequest(req: InferenceRequest): Promise<Decision> {
    let decision: Decision;
    try {
      decision = await this.decide(req);
    } catch (err) {
      decision = this.reject(asRequestError(err), '', '');
    }
    // Why a request was refused, for operators; the message never quotes the body.
    if (decision.kind === 'reject' && this.o.logger?.isLevelEnabled('debug') === true) {
      const e = decision.error;
      this.o.logger.debug({ requestId: req.requestId, code: e.code, status: e.status, error: e.message }, 'request rejected');
    }
    return decision;
  }

  private async decide(req: InferenceRequest): Promise<Decision> {
    const o = this.o;
    const pool = o.pool;
    const startedAt = pool.clock.now();
    const subset = o.disableSubsetFilter === true ? null : subsetAddresses(req.subset);

    if (req.body === null) return this.headerOnly(req, subset, startedAt);

    let view: RequestView | null = null;
    let incoming = '';
    if (o.parser === 'openai') {
      // A form or text body is not an OpenAI request, whatever its bytes (vLLM refuses it too).
      const ctProblem = contentTypeProblem(req.headers.get('content-type'));
      const v = ctProblem === null ? inspectRequest(req.body, req.path) : sbError('SB_ERR_BAD_REQUEST_SHAPE', ctProblem);
      if (!('api' in v)) {
        o.telemetry?.badInput.inc({ source: 'request_body', reason: v.code });
        return this.reject(v, '', '');
      }
      view = v;
      incoming = v.model;
    }

    // Target model: the rewrite header wins, then rewrite rules, then the model as asked.
    const headerRewrite = req.headers.get(MODEL_REWRITE_HEADER);
    let target = incoming;
    if (headerRewrite !== undefined && headerRewrite !== '') target = headerRewrite;
    else if (view !== null && !o.rewriter.empty) {
      const rule = o.rewriter.rule(incoming);
      if (rule !== undefined) {
        target = rule.pick(o.rng);
        o.telemetry?.modelRewritten(rule.name, incoming, target);
      }
    }
    const objective = req.headers.get(OBJECTIVE_HEADER) ?? '';
    const priority = o.objectives.priority(objective);

    const promptBytes = view !== null ? view.promptEnd - view.promptStart : req.body.length;
    const inputTokens = Math.max(1, Math.ceil(promptBytes / BYTES_PER_TOKEN));
    const outputTokens = Math.ceil(Math.min(1.5 * inputTokens, view?.maxTokens ?? Infinity));

    let areq: AdmissionRequest | null = null;
    // The default (legacy shedding, nothing else) needs nothing from a priority >= 0 request.
    if (o.admission !== null && o.admission.bypass?.(priority) !== true) {
      areq = {
        requestId: req.requestId,
        priority,
        fairnessId: flowId(req.headers.get(FAIRNESS_ID_HEADER)),
        objective,
        incomingModel: incoming,
        targetModel: target,
        bytes: req.body.length,
        tokens: inputTokens + outputTokens,
        // Unparsed (passthrough) bodies are the prompt as a whole for guards and budgets.
        body: req.body,
        promptStart: view?.promptStart ?? 0,
        promptEnd: view?.promptEnd ?? req.body.length,
        candidates: () => this.candidateSlots(subset),
        // A getter: front doors create the signal lazily, and most admissions never wait on it.
        get signal() {
          return req.signal;
        },
      };
      // A front door's retry was admitted on its first attempt; it keeps only the hooks.
      if (req.retry !== true) {
        let verdict = o.admission.admit(areq);
        if (verdict instanceof Promise) verdict = await verdict;
        if (verdict !== null) return this.reject(verdict, incoming, target);
      }
    }

    // Token ids only when a plugin needs them; a failure leaves null and the plugin falls back.
    let tokenIds = req.tokenIds ?? null;
    const tokenizer = o.promptTokenizer ?? null;
    if (tokenIds === null && tokenizer !== null && view !== null) {
      const t = await tokenizer.tokenize({ body: req.body, promptStart: view.promptStart, promptEnd: view.promptEnd, model: target });
      if (t.ok) tokenIds = t.tokens;
    }
    const sreq: SchedulingRequest = {
      requestId: req.requestId,
      targetModel: target,
      body: view !== null ? req.body : null,
      promptStart: view?.promptStart ?? 0,
      promptEnd: view?.promptEnd ?? 0,
      cacheSalt: view?.cacheSalt ?? '',
      inputTokens,
      outputTokens,
      headers: req.headers,
      priority,
      tokenIds,
    };
    const debug = o.logger?.isLevelEnabled('debug') === true;
    const sampled = o.decisions?.wants() === true;
    const t0 = performance.now();
    const result = o.scheduler.schedule(sreq, subset, req.explain === true || debug || sampled, req.exclude ?? null);
    const schedSeconds = (performance.now() - t0) / 1000;
    if (sampled) {
      o.decisions?.record({
        model: target,
        outcome: result.kind,
        reason: result.kind === 'failed' ? result.reason : null,
        explanation: result.explanation,
        seconds: schedSeconds,
      });
    }
    if (result.kind !== 'picked') {
      o.telemetry?.scheduled(schedSeconds, false, target, null);
      const err = result.kind === 'no-candidates' ? sbError('SB_ERR_NO_CANDIDATES') : sbError('SB_ERR_SCHEDULE_FAILED', result.reason);
      if (debug) o.logger?.debug({ requestId: req.requestId, explanation: result.explanation }, 'scheduling failed');
      if (areq !== null) o.admission?.placed?.(areq);
      return this.reject(err, incoming, target);
    }
    const primary = result.endpoints[0];
    o.telemetry?.scheduled(schedSeconds, true, target, primary);
    if (debug) o.logger?.debug({ requestId: req.requestId, explanation: result.explanation }, 'scheduled');

    const rewritten = view !== null && target !== incoming;
    const body = rewritten ? rewriteModel(req.body, view as RequestView, target) : req.body;
    const prefillTokens = Math.round(inputTokens * (1 - result.prefixMatch));
    return this.route({
      req,
      endpoints: result.endpoints,
      body,
      bodyRewritten: rewritten,
      incomingModel: incoming,
      targetModel: target,
      priority,
      stream: view?.stream ?? false,
      tokens: inputTokens + outputTokens,
      prefillTokens,
      startedAt,
      explanation: req.explain === true ? result.explanation : null,
      areq,
    });
  }

  /** A request without a body: any candidate will do (the Go EPP picks at random). */
  private headerOnly(req: InferenceRequest, subset: ReadonlySet<string> | null, startedAt: number): Decision {
    const eps = this.o.pool.endpoints();
    if (eps.length === 0) return this.reject(sbError('SB_ERR_DATASTORE_EMPTY'), '', '');
    const exclude = req.exclude ?? null;
    const cands = eps.filter((e) => (subset === null || subset.has(e.address)) && (exclude === null || !exclude.has(e.key)));
    if (cands.length === 0) return this.reject(sbError('SB_ERR_NO_CANDIDATES'), '', '');
    const ep = cands[Math.floor(this.o.rng() * cands.length)];
    return this.route({ ...HEADER_ONLY_ROUTE, req, endpoints: [ep], startedAt });
  }

  private route(r: RouteInput): RoutedDecision {
    const { req, endpoints, body, bodyRewritten, incomingModel, targetModel, priority, stream, tokens, prefillTokens, startedAt, explanation, areq } = r;
    const admission = this.o.admission;
    const lifecycle = new Lifecycle({
      requestId: req.requestId,
      fairnessId: req.headers.get(FAIRNESS_ID_HEADER) ?? null,
      pool: this.o.pool,
      telemetry: this.o.telemetry,
      endpoint: endpoints[0],
      tokens,
      prefillTokens,
      incomingModel,
      targetModel,
      priority,
      stream,
      requestBytes: req.body?.length ?? 0,
      startedAt,
      retry: req.retry === true,
      // Admission hears every finish: flow control re-checks dispatch, budgets charge usage.
      onFinish: areq !== null && admission?.finished !== undefined ? (usage, failed) => admission.finished?.(areq, usage, failed) : null,
      hooks: this.hooks,
    });
    if (areq !== null) admission?.placed?.(areq);
    return {
      kind: 'route',
      endpoints,
      destination: endpoints.length === 1 ? endpoints[0].key : endpoints.map((e) => e.key).join(','),
      body,
      bodyRewritten,
      incomingModel,
      targetModel,
      stream,
      lifecycle,
      explanation,
    };
  }

  private reject(error: SwitchboardError, incoming: string, target: string): Decision {
    this.o.telemetry?.requestRejected(incoming, target, error.code);
    return { kind: 'reject', error };
  }

  /** Slots the request may run on, for saturation checks. */
  private candidateSlots(subset: ReadonlySet<string> | null): number[] {
    const out: number[] = [];
    for (const ep of this.o.pool.endpoints()) if (subset === null || subset.has(ep.address)) out.push(ep.slot);
    return out;
  }
}

/** The subset hint's addresses with ports stripped (the Go EPP matches by IP); null without a hint. */
export function subsetAddresses(subset: readonly string[] | null): ReadonlySet<string> | null {
  if (subset === null) return null;
  const out = new Set<string>();
  for (const entry of subset) {
    const e = entry.trim();
    const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(e);
    if (v6 !== null) out.add(v6[1]);
    else if (e.split(':').length === 2) out.add(e.slice(0, e.lastIndexOf(':')));
    else out.add(e);
  }
  return out;
}
