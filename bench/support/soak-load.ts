/**
 * The mixed load of `bench:soak`: closed-loop workers sending a seeded mix of requests through
 * the proxy (real HTTP) or through ext_proc (an Envoy emulator: frames, then the real upstream
 * request to the picked pod), and the classification of every outcome.
 *
 * "Lost" means a request the system could have saved and did not: on the proxy, any failure
 * before the first response byte reached the client (pod 0 is always healthy); behind Envoy,
 * any failure of the picker itself (its 5xx or a broken ext_proc stream). Pod failures behind
 * Envoy are Envoy's to retry and are reported separately. A hostile request that had to be
 * refused and whose connection broke before the refusal was read is not lost (nothing could
 * have been served); it is counted as `refused_connection_broke`.
 */
import { Agent, request } from 'undici';
import { seededRandom } from '../../src/util/random.js';
import { EnvoyEmulator } from '../../test/support/envoy-emulator.js';

/** Outcome classes. */
export type Outcome =
  | 'ok'
  | 'rejected_as_expected'
  | 'pod_4xx'
  | 'upstream_5xx_passed_through'
  | 'broken_mid_stream'
  | 'client_aborted'
  | 'refused_connection_broke'
  | 'lost'
  | 'unexpected';

export type Door = 'proxy' | 'extproc';

/** One request to send. */
interface Shot {
  kind: string;
  path: string;
  body: Buffer;
  headers: Record<string, string>;
  stream: boolean;
  /** Switchboard must refuse it with this status. */
  expectStatus: number | null;
  /** Proxy only: the client goes away after the first chunk. */
  abortEarly: boolean;
}

/** Counts by door, outcome and cause. */
export class Tally {
  readonly counts: Record<Door, Record<string, number>> = { proxy: {}, extproc: {} };
  readonly causes: Record<string, number> = {};
  /** First few examples of each lost or unexpected cause, for the report. */
  readonly examples: string[] = [];

  add(door: Door, outcome: Outcome, cause: string | null = null): void {
    this.counts[door][outcome] = (this.counts[door][outcome] ?? 0) + 1;
    if (cause !== null) {
      const key = `${door}: ${cause}`;
      this.causes[key] = (this.causes[key] ?? 0) + 1;
      if ((outcome === 'lost' || outcome === 'unexpected') && this.examples.length < 20) this.examples.push(`${key}`);
    }
  }

  total(door?: Door, outcome?: Outcome): number {
    let n = 0;
    for (const d of door === undefined ? (['proxy', 'extproc'] as const) : [door]) {
      for (const [o, c] of Object.entries(this.counts[d])) if (outcome === undefined || o === outcome) n += c;
    }
    return n;
  }
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The request mix: mostly real traffic, some adapters, a little hostile input and impatience. */
function nextShot(r: () => number, model: string, door: Door, maxBody: number, n: number): Shot {
  const x = r();
  const tokens = 8 + Math.floor(r() * 40);
  const words = Array.from({ length: 20 + Math.floor(r() * 200) }, (_, i) => `w${(i * 7 + n) % 97}`).join(' ');
  const shot = (kind: string, path: string, body: unknown, stream: boolean, extra: Partial<Shot> = {}): Shot => ({
    kind,
    path,
    body: Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    headers: JSON_HEADERS,
    stream,
    expectStatus: null,
    abortEarly: false,
    ...extra,
  });
  if (x < 0.4) return shot('completion', '/v1/completions', { model, prompt: `Shared system prompt. ${words}`, max_tokens: tokens }, false);
  if (x < 0.72) return shot('chat-stream', '/v1/chat/completions', { model, messages: [{ role: 'user', content: words }], max_tokens: tokens, stream: true, stream_options: { include_usage: true } }, true);
  if (x < 0.84) return shot('lora', '/v1/completions', { model: r() < 0.5 ? 'sql-lora' : 'chat-lora', prompt: words, max_tokens: tokens, stream: r() < 0.5 }, false);
  if (x < 0.87) return shot('unknown-model', '/v1/completions', { model: 'no-such-model', prompt: 'x', max_tokens: 4 }, false);
  if (x < 0.9 && door === 'proxy') return shot('client-abort', '/v1/chat/completions', { model, messages: [{ role: 'user', content: words }], max_tokens: 40, stream: true }, true, { abortEarly: true });
  const h = r();
  if (h < 0.25) return shot('bad-json', '/v1/completions', '{"model":"' + model + '","prompt":', false, { expectStatus: 400 });
  if (h < 0.5) return shot('duplicate-model', '/v1/completions', `{"model":"${model}","prompt":"x","model":"sql-lora"}`, false, { expectStatus: 400 });
  if (h < 0.7) return shot('deep-nesting', '/v1/completions', `{"model":"${model}","prompt":${'['.repeat(5000)}${']'.repeat(5000)}}`, false, { expectStatus: 400 });
  if (h < 0.85) return shot('form-content-type', '/v1/completions', { model, prompt: 'x' }, false, { expectStatus: 400, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  return shot('too-large', '/v1/completions', Buffer.alloc(maxBody + 4096, 0x20), false, { expectStatus: 413 });
}

/** Shared clients of the load. */
export interface LoadTargets {
  proxyUrl: string;
  emulator: EnvoyEmulator;
  model: string;
  maxBodyBytes: number;
}

/** Runs `workers` closed loops on `door` until `stop()` says so. */
export async function runWorkers(door: Door, workers: number, targets: LoadTargets, tally: Tally, stop: () => boolean, seed: number): Promise<void> {
  const agent = new Agent({ connections: workers * 2, keepAliveTimeout: 30_000 });
  const loop = async (w: number): Promise<void> => {
    // Seeded: the mix is the same on every run.
    const r = seededRandom(seed * 1000 + w);
    let n = 0;
    while (!stop()) {
      const s = nextShot(r, targets.model, door, targets.maxBodyBytes, n++);
      try {
        if (door === 'proxy') await viaProxy(targets, agent, s, tally);
        else await viaEnvoy(targets, s, tally);
      } catch (err) {
        // An oversized upload the server refused early can end in EPIPE before its 413 is read.
        const outcome = s.expectStatus !== null ? 'refused_connection_broke' : 'lost';
        tally.add(door, outcome, `${s.kind}: transport error ${(err as Error).message.slice(0, 80)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
  await agent.close();
}

async function viaProxy(t: LoadTargets, agent: Agent, s: Shot, tally: Tally): Promise<void> {
  const ac = new AbortController();
  const res = await request(`${t.proxyUrl}${s.path}`, { method: 'POST', headers: s.headers, body: s.body, dispatcher: agent, signal: ac.signal });
  let text = '';
  let bytes = 0;
  try {
    for await (const chunk of res.body) {
      bytes += (chunk as Buffer).length;
      text += (chunk as Buffer).toString('utf8');
      if (s.abortEarly) {
        ac.abort();
        tally.add('proxy', 'client_aborted');
        return;
      }
    }
  } catch (err) {
    if (s.abortEarly && ac.signal.aborted) return tally.add('proxy', 'client_aborted');
    // The connection broke: after bytes arrived that is a stream cut short, before it a loss.
    return tally.add('proxy', bytes > 0 ? 'broken_mid_stream' : 'lost', `${s.kind}: ${(err as Error).message.slice(0, 60)}`);
  }
  classify('proxy', s, res.statusCode, text, tally);
}

async function viaEnvoy(t: LoadTargets, s: Shot, tally: Tally): Promise<void> {
  const chunks = s.body.length > 65536 ? Array.from({ length: Math.floor(s.body.length / 65536) }, (_, i) => (i + 1) * 65536) : [];
  const res = await t.emulator.send({ path: s.path, headers: s.headers, body: s.body, splitAt: chunks });
  if (res.source === 'local-reply' && res.status >= 500 && res.status !== s.expectStatus) {
    const outcome = s.expectStatus !== null ? 'refused_connection_broke' : 'lost';
    return tally.add('extproc', outcome, `${s.kind}: picker answered ${res.status} ${res.body.toString().slice(0, 300)}`);
  }
  if (res.broken) return tally.add('extproc', 'broken_mid_stream', `${s.kind}: pod broke off`);
  if (res.source === 'envoy') return tally.add('extproc', 'upstream_5xx_passed_through', `${s.kind}: ${res.body.toString().slice(0, 50)}`);
  classify('extproc', s, res.status, res.body.toString('utf8'), tally);
}

function classify(door: Door, s: Shot, status: number, text: string, tally: Tally): void {
  if (s.expectStatus !== null) {
    if (status === s.expectStatus) return tally.add(door, 'rejected_as_expected', `${s.kind}: ${status}`);
    return tally.add(door, 'unexpected', `${s.kind}: expected ${s.expectStatus}, got ${status}`);
  }
  if (status === 200) {
    // A stream must end properly, or with the error event of a pod that broke off mid-way.
    if (!s.stream || text.endsWith('data: [DONE]\n\n')) return tally.add(door, 'ok');
    if (text.includes('"code":"SB_ERR_UPSTREAM_BROKEN"')) return tally.add(door, 'broken_mid_stream', `${s.kind}: pod broke off`);
    return tally.add(door, 'unexpected', `${s.kind}: stream without [DONE]`);
  }
  if (status === 404 && s.kind === 'unknown-model') return tally.add(door, 'pod_4xx');
  if (status >= 500) {
    // The proxy retries anything that fails before streaming: a 5xx that reaches its client is a loss.
    if (door === 'proxy') return tally.add(door, 'lost', `${s.kind}: ${status} ${text.slice(0, 100)}`);
    return tally.add(door, 'upstream_5xx_passed_through', `${s.kind}: pod answered ${status}`);
  }
  tally.add(door, 'unexpected', `${s.kind}: ${status} ${text.slice(0, 100)}`);
}
