/**
 * One way to start Switchboard for tests and benchmarks: the core (`startCore`, `refreshMetrics`)
 * and its front doors (`startExtProc`, `startProxy`). test/support and bench build on it. See README.md.
 */
export { refreshMetrics, startCore, type CoreOptions } from './core.js';
export { startExtProc, startProxy } from './doors.js';
export { eventually } from './wait.js';
