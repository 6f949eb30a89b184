/**
 * A budget of request-body bytes held by the proxy at once (received, waiting for a pick, or
 * being forwarded): many large or slow uploads together must not exhaust memory. A body is
 * charged when it starts to arrive and released when its exchange ends; one that does not fit
 * is refused with 503 before it is read. A body declared over the size limit is left to the 413.
 */
import { Transform } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { sbError, type SwitchboardError } from '../../errors.js';

export class BodyBudget {
  private held = 0;

  /** `maxBytes` 0 disables the budget; `maxBodyBytes` is the one-body limit (413 above it). */
  constructor(
    readonly maxBytes: number,
    private readonly maxBodyBytes: number,
  ) {}

  /** Bytes held now. */
  get heldBytes(): number {
    return this.held;
  }

  /** Installs the fastify hook that charges every request body. */
  install(app: FastifyInstance): void {
    if (this.maxBytes <= 0) return;
    app.addHook('preParsing', (request, reply, payload, done) => {
      let charged = 0;
      // Once the answer is out the body is no longer held, even while the rest of a refused one
      // is still read and thrown away (lingering close): nothing more is charged.
      let released = false;
      reply.raw.once('close', () => {
        released = true;
        this.held -= charged;
        charged = 0;
      });
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared >= 0) {
        // A body that can never be accepted is refused for its size (413), not for the load.
        if (declared > this.maxBodyBytes) return done(null, payload);
        // The usual case: charge the declared length up front, no per-chunk work.
        if (!this.fits(declared)) return done(this.refusal(), payload);
        this.held += declared;
        charged = declared;
        return done(null, payload);
      }
      // A chunked upload is charged as it arrives.
      const counter = new Transform({
        transform: (chunk: Buffer, _enc, next) => {
          if (released) return next();
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

  /** Whether `bytes` more fit now (always, with the budget off). */
  fits(bytes: number): boolean {
    return this.maxBytes <= 0 || this.held + bytes <= this.maxBytes;
  }

  /** The 503 for a body that does not fit. */
  refusal(): SwitchboardError {
    return sbError('SB_ERR_OVERLOADED', `request bodies held by the proxy exceed ${this.maxBytes} bytes`);
  }
}
