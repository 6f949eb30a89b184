/**
 * A budget of request-body bytes held by the proxy at once (received, waiting for a pick, or
 * being forwarded): many large or slow uploads together must not exhaust memory. A body is
 * charged when it starts to arrive and released when its exchange ends; one that does not fit
 * is refused with 503 before it is read.
 */
import { Transform } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { sbError } from '../../errors.js';

export class BodyBudget {
  private held = 0;

  /** `maxBytes` 0 disables the budget. */
  constructor(readonly maxBytes: number) {}

  /** Bytes held now. */
  get heldBytes(): number {
    return this.held;
  }

  /** Installs the fastify hook that charges every request body. */
  install(app: FastifyInstance): void {
    if (this.maxBytes <= 0) return;
    app.addHook('preParsing', (request, reply, payload, done) => {
      let charged = 0;
      reply.raw.once('close', () => {
        this.held -= charged;
        charged = 0;
      });
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared >= 0) {
        // The usual case: charge the declared length up front, no per-chunk work.
        if (!this.fits(declared)) return done(this.refusal(), payload);
        this.held += declared;
        charged = declared;
        return done(null, payload);
      }
      // A chunked upload is charged as it arrives.
      const counter = new Transform({
        transform: (chunk: Buffer, _enc, next) => {
          if (!this.fits(chunk.length)) return next(this.refusal());
          this.held += chunk.length;
          charged += chunk.length;
          (counter as Transform & { receivedEncodedLength: number }).receivedEncodedLength += chunk.length;
          next(null, chunk);
        },
      });
      (counter as Transform & { receivedEncodedLength: number }).receivedEncodedLength = 0;
      payload.on('error', (err) => counter.destroy(err));
      done(null, payload.pipe(counter));
    });
  }

  private fits(bytes: number): boolean {
    return this.held + bytes <= this.maxBytes;
  }

  private refusal(): Error {
    return sbError('SB_ERR_OVERLOADED', `request bodies held by the proxy exceed ${this.maxBytes} bytes`);
  }
}
