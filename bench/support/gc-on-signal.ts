/**
 * Loaded into the Switchboard process of `bench:soak` with `--import` (node runs with
 * --expose-gc): SIGUSR2 runs a full garbage collection, so the benchmark can read the live heap
 * at the moments it compares instead of a figure full of garbage.
 */
const gc = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => gc?.());
