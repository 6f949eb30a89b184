/**
 * Model-server signals beyond the Go EPP's core three (queue, running, KV), one declaration
 * each. The pool keeps a column per signal (`pool.signal.<name>[slot]`), extractors fill it from
 * the engine mapping's entry of the same name (`signalSpecs` in datalayer/engines.ts), and
 * scorers read the column. A new signal is this one line plus one mapping entry per engine.
 *
 * A `gauge` column holds the latest value; a `counter` column holds its rate per second between
 * the last two scrapes (0 after the first scrape, and when the counter went backwards: a restart).
 * An `observed` column is not scraped: a request-lifecycle hook writes it from the responses the
 * front doors see (director/plugins/endpoint-latency-observer); 0 means no recent evidence (for
 * `answers`, a count kept while the endpoint stays in the pool: no evidence at all).
 */
export interface SignalSpec {
  readonly kind: 'gauge' | 'counter' | 'observed';
  readonly help: string;
}

export const SIGNALS = {
  preemptions: { kind: 'counter', help: 'requests preempted per second (vllm:num_preemptions_total)' },
  ttft: { kind: 'observed', help: 'time to first token of recent streamed responses, ms (moving average; 0 unknown)' },
  tpot: { kind: 'observed', help: 'time per output token after the first of recent streamed responses, ms (moving average; 0 unknown)' },
  prefillMs: { kind: 'observed', help: 'first-token time with no prefill work queued ahead, ms (fitted intercept; 0 unknown)' },
  prefillMsPerToken: { kind: 'observed', help: 'first-token time per prompt token of prefill work, ms (fitted slope; 0 unknown)' },
  answers: { kind: 'observed', help: 'answers seen from the endpoint since it joined the pool: a stream at its first token, a plain body when it ends with a status under 400 (a count, never aged; 0: it has not answered yet)' },
} as const satisfies Record<string, SignalSpec>;

export type SignalName = keyof typeof SIGNALS;

/** Signal names in declaration order. */
export const SIGNAL_NAMES = Object.keys(SIGNALS) as SignalName[];

/** Signals a scrape fills (gauges and counters), in declaration order. */
export const SCRAPED_SIGNAL_NAMES = SIGNAL_NAMES.filter((n) => (SIGNALS[n] as SignalSpec).kind !== 'observed');

/** Raw values of one scrape (counters cumulative); absent = the engine does not report it. */
export type SignalValues = Partial<Record<SignalName, number>>;
