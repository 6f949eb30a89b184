/**
 * `Expect: 100-continue` uploads (curl sends it for bodies over 1 MB) are checked before the
 * client is told to send: Node answers `100 Continue` by itself unless the server handles
 * `checkContinue`, after which a body we are about to refuse would be on its way anyway. A body
 * declared over the size limit or over the body budget gets its 413 or 503 at once; any other
 * gets `100 Continue` and goes on as an ordinary request.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { SwitchboardError } from '../../errors.js';

/** The refusal for a request, judged on its headers alone, or null to let it send its body. */
export type HeaderCheck = (req: IncomingMessage) => SwitchboardError | null;

/** Answers `res` with `err`; the request's body has not been sent. */
export type Refuse = (req: IncomingMessage, res: ServerResponse, err: SwitchboardError) => void;

/** Makes `server` decide on `100 Continue` itself. */
export function answerExpectContinue(server: Server, check: HeaderCheck, refuse: Refuse): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const err = check(req);
    if (err !== null) {
      refuse(req, res, err);
      return;
    }
    res.writeContinue();
    // With a `checkContinue` listener Node does not emit 'request' itself (Node's http docs).
    server.emit('request', req, res);
  });
}
