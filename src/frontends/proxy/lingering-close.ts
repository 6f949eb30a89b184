/**
 * Lingering close of a connection whose request was refused while its body was still arriving
 * (413 over the size limit, 503 over the body budget), the way nginx does it (`lingering_close`).
 *
 * Node closes a `connection: close` response's socket as soon as the answer is flushed. With
 * upload bytes still unread, that close makes the kernel reset the connection, and a client
 * still writing its body (undici's fetch, hence most SDKs, sends the whole body before reading)
 * gets EPIPE or ECONNRESET instead of the answer waiting in its receive buffer. Here the answer
 * is flushed and the write side shut (FIN), and the rest of the body is read and thrown away
 * until it ends, the client closes, or a byte or time cap is reached; only then is the socket
 * destroyed. Nothing read is kept: every chunk is dropped as it arrives.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How much of a refused body is read and thrown away, and for how long (either 0: not at all). */
export interface LingeringCloseLimits {
  /** Body bytes discarded after the refusal at most. */
  maxBytes: number;
  /** Longest the connection stays open after the refusal (ms). */
  timeMs: number;
}

/** How a lingering close ended: the metric's `reason` label. */
export type LingeringCloseEnd = 'body_end' | 'client_closed' | 'byte_cap' | 'time_cap';

/** Told once when a lingering close ends, with the bytes it discarded. */
export type LingeringCloseReport = (end: LingeringCloseEnd, discardedBytes: number) => void;

const noop = (): void => undefined;

/**
 * Marks `res` as the last answer on its connection and, if the body of `req` is still arriving,
 * starts throwing it away and makes the connection close lingering once the answer is flushed.
 * Call before the answer is written.
 */
export function closeLingering(req: IncomingMessage, res: ServerResponse, limits: LingeringCloseLimits, report: LingeringCloseReport): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
  const socket = req.socket;
  // Own property over the prototype's; deleting it brings Node's back.
  const own = socket as unknown as { destroySoon?: () => void };
  if (req.complete || req.readableEnded || socket.destroyed) return;
  if (limits.maxBytes <= 0 || limits.timeMs <= 0) return; // lingering off: Node's own close
  let discarded = 0;
  let answered = false;
  let over = false;
  const finish = (end: LingeringCloseEnd): void => {
    if (over) return;
    over = true;
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', onEnd);
    socket.off('close', onClose);
    report(end, discarded);
    if (end !== 'body_end') {
      // At a cap the reset is the point: the client will not stop. A client that closed is gone.
      socket.destroy();
    } else if (answered) {
      // Nothing is left unread, so closing sends FIN, not a reset.
      destroyWhenFlushed(socket);
    } else {
      delete own.destroySoon; // the body ended before the answer: Node's own close is clean
    }
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > limits.maxBytes) finish('byte_cap');
  };
  const onEnd = (): void => finish('body_end');
  const onClose = (): void => finish('client_closed');
  const timer = setTimeout(() => finish('time_cap'), limits.timeMs);
  timer.unref();
  // Reading starts now (the body parser may have stopped, or never started): a request being
  // read is not "dumped" by Node when its answer ends, which would hide the bytes from us.
  req.on('data', onData);
  req.once('end', onEnd);
  req.on('error', noop);
  socket.once('close', onClose);
  req.resume();
  // Node ends a `connection: close` answer by `socket.destroySoon()` (end, then destroy once
  // flushed). This socket alone gets a variant that only ends (FIN after the answer) and leaves
  // the destroy to `finish`.
  own.destroySoon = () => {
    delete own.destroySoon;
    answered = true;
    socket.end();
  };
}

function destroyWhenFlushed(socket: Socket): void {
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}
