/**
 * A benchmark server, run as a child process so its CPU time can be measured alone:
 *
 *   floor        a bare grpc-js server on the Process method that passes raw bytes (no codec),
 *                counts the request messages and writes pre-encoded responses: the cost of the
 *                gRPC transport and nothing else;
 *   frontdoor    the real ext_proc server with a director that returns one fixed decision and
 *                keeps no accounting: the front door's own cost (codec, stream handling), to
 *                tell it apart from the core's;
 *   switchboard  the real ext_proc server with the real core (default scheduling config, eight
 *                endpoints whose metrics are refreshed in-process instead of scraped, so no
 *                scrape traffic competes for the CPU);
 *   switchboard-viewer  the same with the live dashboard on (`--dashboard-viewer`): the parent
 *                connects one viewer to its events, so its cost shows against `switchboard`.
 *
 * Talks to the parent over IPC: sends {port} when listening, answers 'cpu' with process.cpuUsage().
 */
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { PROCESS_PATH } from '../src/frontends/extproc/codec.js';
import { refreshMetrics, startCore, startExtProc } from '../harness/index.js';
import type { Decision, Director, InferenceRequest, RequestLifecycle } from '../src/director/types.js';
import { DecisionLog } from '../src/telemetry/dashboard/decisions.js';
import { expectedResponses, FLOOR_DESTINATION, requestMessages } from './extproc-frames.js';
import { serveDashboard } from './support/dashboard-viewer.js';

const kind = process.argv[2];
const bodyBytes = Number(process.argv[3]);

async function startFloor(): Promise<number> {
  const expected = requestMessages(bodyBytes).length;
  const responses = expectedResponses(bodyBytes);
  const identity = (b: Buffer) => b;
  // Same transport settings as Switchboard's server, so the floor is the best grpc-js does.
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.enable_channelz': 0 });
  server.addService(
    {
      Process: {
        path: PROCESS_PATH,
        requestStream: true,
        responseStream: true,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      Process: (call: ServerDuplexStream<Buffer, Buffer>) => {
        let seen = 0;
        call.on('data', () => {
          if (++seen === expected) for (const r of responses) call.write(r);
        });
        call.on('end', () => call.end());
        call.on('error', () => {});
      },
    },
  );
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

/** A director with a fixed answer and a no-op lifecycle (benchmark baseline only). */
const fixedDirector: Director = {
  async handleRequest(req: InferenceRequest): Promise<Decision> {
    const lifecycle: RequestLifecycle = {
      served: () => {},
      responseHeaders: () => {},
      responseBody: (chunk) => chunk,
      finish: () => {},
      usage: () => null,
    };
    return {
      kind: 'route',
      endpoints: [],
      destination: FLOOR_DESTINATION,
      body: req.body,
      bodyRewritten: false,
      incomingModel: '',
      targetModel: '',
      stream: false,
      lifecycle,
      explanation: null,
    };
  },
};

// h2load does not reconnect after GOAWAY (Envoy does): no connection recycling while measuring.
const SERVER_OPTIONS = { healthPort: null, resetsPerConnection: 0 };

async function startFrontDoor(): Promise<number> {
  const server = await startExtProc(fixedDirector, SERVER_OPTIONS);
  return server.port;
}

/** Port of the dashboard's metrics server (`switchboard-viewer`), else null. */
let dashboardPort: number | null = null;

async function startSwitchboard(withDashboard: boolean): Promise<number> {
  const decisions = withDashboard ? new DecisionLog() : null;
  const core = await startCore({
    decisions,
    endpoints: Array.from({ length: 8 }, (_, i) => ({ name: `pod-${i}`, address: `10.0.0.${i + 1}`, port: 8000 })),
    scrape: false,
    pluginTiming: true,
    poolName: 'bench',
  });
  // Fresh metrics without scrape traffic: refresh every endpoint twice a second.
  refreshMetrics(
    core,
    (ep, tick) => ({
      waitingQueueSize: (ep.slot + tick) % 4,
      runningRequests: 8 + ((ep.slot * 3 + tick) % 8),
      kvCacheUsage: 0.2 + ((ep.slot * 7 + tick) % 10) / 20,
      activeAdapters: new Set(),
      waitingAdapters: new Set(),
      maxAdapters: 0,
      cacheBlockSize: 16,
      cacheNumBlocks: 8192,
    }),
    500,
  );
  if (decisions !== null) dashboardPort = await serveDashboard(core, decisions, 'bench');
  const server = await startExtProc(core.director, { ...SERVER_OPTIONS, readiness: { ready: () => core.pool.synced } });
  return server.port;
}

const port = kind === 'floor' ? await startFloor() : kind === 'frontdoor' ? await startFrontDoor() : await startSwitchboard(kind === 'switchboard-viewer');
process.on('message', (msg) => {
  if (msg === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  if (msg === 'exit') process.exit(0);
});
process.send?.({ port, dashboardPort });
