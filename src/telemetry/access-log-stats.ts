/** Statistics of the access log (lines written and dropped), read by telemetry for the metrics. */
import { StatsKey } from '../scheduling/framework/stats.js';

export interface AccessLogStats {
  /** Lines written to the file. */
  written: number;
  /** Lines dropped because the buffer was full (a slow or stuck disk). */
  droppedFull: number;
  /** Lines lost to failed writes (a full disk, a removed directory). */
  droppedError: number;
  /** Finished requests not logged: no usage reported, so their lengths are unknown. */
  skippedNoUsage: number;
}

export const ACCESS_LOG_STATS = new StatsKey<AccessLogStats>('access-log');
