/**
 * LoRA adapters of one engine: which are registered, which sit in GPU slots, which in the CPU
 * cache, and what bringing one into a slot costs.
 *
 * vLLM admits a request for adapter A only while A already has running requests or fewer than
 * `max_loras` distinct adapters are running (the engine enforces that with `runningCount`). A
 * newly admitted adapter must be in a GPU slot: free if resident, `loraLoadMs` from the CPU cache,
 * `loraColdLoadMs` otherwise. Both caches evict least recently used, where "used" means "in the
 * batch": vLLM's LoRA manager touches every adapter of the batch at each step (`_apply_adapters`
 * → `activate_adapter`, which always touches both LRU caches), so an adapter that just stopped
 * running is the most recent idle one, and a running adapter is never the oldest.
 */

export class LoraSlots {
  /** Registered adapter name -> artifact path. */
  readonly registered = new Map<string, string>();
  /** Running requests per adapter. */
  readonly runningCount = new Map<string, number>();
  /** Waiting requests per adapter. */
  readonly waitingCount = new Map<string, number>();
  /** Adapter loads into a GPU slot so far. */
  loads = 0;
  /** Of those, loads that missed the CPU cache. */
  coldLoads = 0;

  private readonly gpu: string[] = [];
  private readonly cpu: string[] = [];

  constructor(
    readonly maxLoras: number,
    readonly maxCpuLoras: number,
    private readonly loadMs: number,
    private readonly coldLoadMs: number,
  ) {}

  /** Registers an adapter (`/v1/load_lora_adapter`); false if the name is taken. */
  register(name: string, path: string): boolean {
    if (this.registered.has(name)) return false;
    this.registered.set(name, path);
    return true;
  }

  /** Unregisters an adapter; false if unknown. Running requests keep their slot until done. */
  unregister(name: string): boolean {
    if (!this.registered.delete(name)) return false;
    removeFrom(this.cpu, name);
    if (!this.runningCount.has(name)) removeFrom(this.gpu, name);
    return true;
  }

  /** Whether a request for `name` may join the running batch now. */
  canRun(name: string): boolean {
    return this.runningCount.has(name) || this.runningCount.size < this.maxLoras;
  }

  /** A running request for `name` left the batch (finished, preempted or aborted). */
  stopRunning(name: string): void {
    LoraSlots.bump(this.runningCount, name, -1);
    // Its last step in the batch touched it: the most recently used of the idle adapters.
    if (!this.runningCount.has(name)) {
      moveToEnd(this.gpu, name);
      moveToEnd(this.cpu, name);
    }
  }

  /** Puts `name` in a GPU slot; returns the load time in ms (0 when already resident). */
  activate(name: string): number {
    if (moveToEnd(this.gpu, name)) {
      this.touchCpu(name);
      return 0;
    }
    const fromCpu = this.touchCpu(name);
    if (this.gpu.length >= this.maxLoras) {
      // Evict the least recently used adapter with no running requests.
      const victim = this.gpu.findIndex((a) => !this.runningCount.has(a));
      if (victim >= 0) this.gpu.splice(victim, 1);
    }
    this.gpu.push(name);
    this.loads++;
    if (!fromCpu) this.coldLoads++;
    return fromCpu ? this.loadMs : this.coldLoadMs;
  }

  /** Moves `name` to the recent end of the CPU cache, evicting its oldest idle adapters beyond capacity; true if it was there. */
  private touchCpu(name: string): boolean {
    const list = this.cpu;
    const was = removeFrom(list, name);
    list.push(name);
    // Running adapters are touched at every step in vLLM, so never the oldest.
    for (let i = 0; list.length > this.maxCpuLoras && i < list.length - 1; ) {
      if (this.runningCount.has(list[i])) i++;
      else list.splice(i, 1);
    }
    return was;
  }

  /** Adapters resident in GPU slots, least recently used first. */
  resident(): readonly string[] {
    return this.gpu;
  }

  /** Counts a request for `name` entering (+1) or leaving (-1) `map`. */
  static bump(map: Map<string, number>, name: string, delta: number): void {
    const n = (map.get(name) ?? 0) + delta;
    if (n <= 0) map.delete(name);
    else map.set(name, n);
  }
}

function removeFrom(list: string[], name: string): boolean {
  const i = list.indexOf(name);
  if (i >= 0) list.splice(i, 1);
  return i >= 0;
}

/** Moves `name`, if present, to the most-recent end of `list`; true if it was there. */
function moveToEnd(list: string[], name: string): boolean {
  if (!removeFrom(list, name)) return false;
  list.push(name);
  return true;
}
