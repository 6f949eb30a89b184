/**
 * A client in its own process that uploads large bodies to the proxy and prints, per upload, one
 * JSON line saying what it got: an HTTP status with the body's error object, or a socket error.
 * The separate process matters: a client sharing the server's event loop reads the server's
 * answer before its own failed write is reported, which hides the broken-connection case.
 *
 *   node --import test/support/ts-run/register.mjs test/support/upload-client.ts '<json Upload[]>'
 */
import OpenAI, { APIError } from 'openai';

export interface Upload {
  url: string;
  /** `fetch`: Node's global fetch (undici); `openai`: the official client, `completions.create`. */
  client: 'fetch' | 'openai';
  /** Size of the prompt string; the JSON body is a few dozen bytes larger. */
  promptBytes: number;
  /** fetch only: send the body as a stream, so without content-length (chunked). */
  chunked?: boolean;
}

export type UploadResult =
  | { status: number; error: { code?: string | null; message?: string; type?: string } | null }
  | { socketError: string };

const MODEL = 'base-model';

async function upload(u: Upload): Promise<UploadResult> {
  const prompt = 'x'.repeat(u.promptBytes);
  if (u.client === 'openai') {
    const client = new OpenAI({ baseURL: `${u.url}/v1`, apiKey: 'test', maxRetries: 0 });
    try {
      await client.completions.create({ model: MODEL, prompt, max_tokens: 1 });
      return { status: 200, error: null };
    } catch (err) {
      if (err instanceof APIError && err.status !== undefined) {
        const e = err.error as { code?: string; message?: string; type?: string } | undefined;
        return { status: err.status, error: { code: e?.code ?? null, message: e?.message, type: e?.type } };
      }
      return { socketError: socketCode(err) };
    }
  }
  const json = Buffer.from(JSON.stringify({ model: MODEL, prompt, max_tokens: 1 }));
  const body = u.chunked === true ? inPieces(json) : json;
  try {
    const res = await fetch(`${u.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      ...(u.chunked === true ? { duplex: 'half' } : {}),
    } as RequestInit);
    const text = await res.text();
    let error = null;
    try {
      const e = (JSON.parse(text) as { error?: { code?: string; message?: string; type?: string } }).error;
      if (e !== undefined) error = { code: e.code, message: e.message, type: e.type };
    } catch {
      // not JSON: error stays null and the test sees it
    }
    return { status: res.status, error };
  } catch (err) {
    return { socketError: socketCode(err) };
  }
}

/** A body stream of 1 MiB pieces (fetch sends it chunked). */
function inPieces(buf: Buffer): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= buf.length) return controller.close();
      controller.enqueue(buf.subarray(at, at + (1 << 20)));
      at += 1 << 20;
    },
  });
}

function socketCode(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 4 && e !== undefined && e !== null; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return String(err);
}

const uploads = JSON.parse(process.argv[2] ?? '[]') as Upload[];
for (const u of uploads) process.stdout.write(`${JSON.stringify(await upload(u))}\n`);
