/**
 * The simulated fleet of `bench:soak` and its chaos: four real-time vLLM pods with standing
 * faults (failing and slow metrics, 5xx answers, streams dropped part-way), plus timed events —
 * a pod that answers only 503 for a while, and a pod that crashes (port refused) and comes back.
 * Pod 0 never fails, so every request that fails before streaming has a healthy pod to go to.
 */
import { resolveProfile } from '../../src/workload/engine-profile.js';
import { startSimFleet, type SimFleet } from '../../src/sim/pod/fleet.js';
import { SimPod } from '../../src/sim/pod/server.js';
import type { PodFaults } from '../../src/sim/pod/faults.js';

export const SOAK_ADAPTERS = [{ name: 'sql-lora' }, { name: 'chat-lora' }];

/** Standing faults by pod index. */
export const STANDING_FAULTS: ReadonlyArray<Partial<PodFaults>> = [
  {},
  { metricsFailRate: 0.2, metricsDelayMs: 20 },
  { errorRate: 0.05, errorStatus: 503, dropRate: 0.03 },
  { errorRate: 0.03, errorStatus: 500, metricsLagMs: 500 },
];

/** A chaos event, for the report. */
export interface ChaosEvent {
  t: number;
  event: string;
}

export class SoakFleet {
  readonly events: ChaosEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private round = 0;

  private constructor(
    readonly fleet: SimFleet,
    private readonly pods: SimPod[],
    private readonly t0: number,
  ) {}

  static async start(t0: number): Promise<SoakFleet> {
    const fleet = await startSimFleet({
      pods: STANDING_FAULTS.length,
      loraModules: SOAK_ADAPTERS,
      streamChunkTokens: 2,
      seed: 2026,
      faults: (i) => STANDING_FAULTS[i],
    });
    return new SoakFleet(fleet, fleet.pods.map((p) => p.pod), t0);
  }

  get modelName(): string {
    return this.fleet.modelName;
  }

  /** `host:port` of every pod. */
  endpoints(): string[] {
    return this.fleet.pods.map((p) => `${p.address}:${p.port}`);
  }

  /** Runs one chaos event every `everyMs`, alternating an outage of pod 3 and a crash of pod 2. */
  startChaos(everyMs: number, outageMs: number): void {
    this.timer = setInterval(() => void this.chaos(outageMs), everyMs);
  }

  private async chaos(outageMs: number): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (this.round++ % 2 === 0) {
        this.note('pod-3 answers 503 to everything');
        this.pods[3].setFaults({ errorRate: 1, errorStatus: 503 });
        await sleep(outageMs);
        this.pods[3].setFaults(STANDING_FAULTS[3]);
        this.note('pod-3 recovered');
      } else {
        const old = this.pods[2];
        const port = old.port;
        this.note('pod-2 crashed (connections cut, port refused)');
        await old.close();
        await sleep(outageMs);
        this.pods[2] = await SimPod.start({
          host: old.address,
          port,
          profile: resolveProfile(),
          loraModules: SOAK_ADAPTERS,
          streamChunkTokens: 2,
          faults: STANDING_FAULTS[2],
          seed: 4000 + this.round,
          index: 2,
        });
        this.note('pod-2 restarted on the same port');
      }
    } finally {
      this.busy = false;
    }
  }

  private note(event: string): void {
    this.events.push({ t: Math.round((performance.now() - this.t0) / 100) / 10, event });
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    while (this.busy) await sleep(50);
    await Promise.all(this.pods.map((p) => p.close()));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
