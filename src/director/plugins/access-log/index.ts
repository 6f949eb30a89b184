/** `access-log`: every finished request as one line of the replayable trace format. See README.md. */
import type { Factory, Plugin, TypedName } from '../../../framework/plugin.js';
import type { StatsSource } from '../../../scheduling/framework/stats.js';
import { ACCESS_LOG_STATS, type AccessLogStats } from '../../../telemetry/access-log-stats.js';
import { formatTraceRecord, TRACE_LIMITS, type TraceRecord } from '../../../workload/trace.js';
import type { LifecycleHook, ResponseObservation } from '../../framework/lifecycle-hook.js';
import { LineWriter } from './line-writer.js';

export const ACCESS_LOG = 'access-log';

export interface AccessLogOptions {
  path: string;
  maxQueuedLines: number;
  flushIntervalMs: number;
  batchLines: number;
  /** Models served as base models: any other target model is written as the line's adapter. */
  baseModels: readonly string[];
}

export const ACCESS_LOG_DEFAULTS = Object.freeze({ maxQueuedLines: 10_000, flushIntervalMs: 1000, batchLines: 512 });

/** What the hook keeps of an observation until the writer formats it (no prompt, ever). */
interface Pending {
  record: TraceRecord;
}

export class AccessLog implements Plugin, LifecycleHook, StatsSource<AccessLogStats> {
  readonly typedName: TypedName;
  readonly statsKey = ACCESS_LOG_STATS;
  private readonly writer: LineWriter<Pending>;
  private readonly base: ReadonlySet<string>;
  /** Offsets count from the first logged request's start. */
  private epoch = -1;
  private skippedNoUsage = 0;

  constructor(name: string, o: AccessLogOptions) {
    this.typedName = Object.freeze({ type: ACCESS_LOG, name });
    this.base = new Set(o.baseModels);
    this.writer = new LineWriter<Pending>(o, (p) => formatTraceRecord(p.record));
  }

  responseComplete(obs: ResponseObservation): void {
    // A retried attempt is followed by the request's next attempt: one line per request.
    if (obs.outcome === 'retried') return;
    const u = obs.usage;
    // Lengths are the point of the line; without usage they are unknown.
    if (u === null || u.promptTokens < 1 || u.completionTokens < 1) {
      this.skippedNoUsage++;
      return;
    }
    if (this.epoch < 0) this.epoch = obs.startedAt;
    const model = obs.targetModel;
    const tenant = obs.fairnessId ?? '';
    const adapter = this.base.size > 0 && model !== '' && !this.base.has(model) ? cap(model) : null;
    this.writer.push({
      record: {
        offsetMs: Math.max(0, obs.startedAt - this.epoch),
        inputTokens: Math.min(u.promptTokens, TRACE_LIMITS.maxInputTokens),
        outputTokens: Math.min(u.completionTokens, TRACE_LIMITS.maxOutputTokens),
        prefixGroup: null,
        prefixTokens: 0,
        adapter,
        tenant: tenant === '' ? null : cap(tenant),
        observed: {
          ...(model !== '' ? { model: cap(model) } : {}),
          endpoint: obs.endpoint.key,
          status: obs.status,
          outcome: obs.outcome,
          ttftMs: obs.ttftMs,
          tpotMs: obs.tpotMs,
          e2eMs: obs.finishedAt - obs.startedAt,
          ...(u.cachedTokens >= 0 ? { cachedTokens: u.cachedTokens } : {}),
        },
      },
    });
  }

  stats(): AccessLogStats {
    const w = this.writer;
    return { written: w.written, droppedFull: w.droppedFull, droppedError: w.droppedError, skippedNoUsage: this.skippedNoUsage };
  }

  /** Resolves once every queued line reached the file (or failed). */
  flush(): Promise<void> {
    return this.writer.drain();
  }

  /** Writes what is queued and closes the file. */
  close(): Promise<void> {
    return this.writer.close();
  }
}

/** Client-chosen names are cut to what the trace reader accepts. */
function cap(s: string): string {
  return s.length > TRACE_LIMITS.maxNameChars ? s.slice(0, TRACE_LIMITS.maxNameChars) : s;
}

/** Factory: validates the parameters (see README.md). */
export const accessLog: Factory<AccessLog> = (name, p) => {
  const path = p.string('path', '');
  if (path === '') p.fail('path', 'is required: the file the lines are appended to');
  const d = ACCESS_LOG_DEFAULTS;
  const maxQueuedLines = p.number('maxQueuedLines', d.maxQueuedLines, { min: 1, max: 10_000_000, integer: true });
  const flushIntervalMs = p.durationMs('flushInterval', d.flushIntervalMs);
  if (!(flushIntervalMs > 0)) p.fail('flushInterval', 'must be positive');
  const batchLines = p.number('batchLines', d.batchLines, { min: 1, max: 1_000_000, integer: true });
  return new AccessLog(name, { path, maxQueuedLines, flushIntervalMs, batchLines, baseModels: p.strings('baseModels') });
};
