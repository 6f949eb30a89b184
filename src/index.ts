/**
 * The package entry: create a Switchboard in process (the core, then either front door), load
 * and print configs, the coded errors, the simulated fleet for tests, and the plugin contracts.
 */
export { createSwitchboard, type Switchboard, type SwitchboardOptions } from './switchboard.js';
export { defaultConfig, DEFAULT_CONFIG_YAML } from './config/defaults.js';
export { CONFIG_API_VERSION, CONFIG_KIND, loadConfigFile, parseConfig, validateConfig } from './config/load.js';
export { configDocument, formatConfig, type ConfigFormat } from './config/print.js';
export type * from './config/types.js';
export { errorTable, isSwitchboardError, sbError, SwitchboardError, type ErrorCode, type ErrorKind } from './errors.js';
export { startProxyServer, type ProxyServer, type ProxyServerOptions } from './frontends/proxy/index.js';
export { startExtProcServer, type ExtProcServer, type ExtProcServerOptions } from './frontends/extproc/server.js';
export { startSimFleet, type SimFleet, type SimFleetOptions } from './sim/pod/fleet.js';
export type { EndpointSpec } from './pool/endpoint.js';
export { VERSION } from './cli/version.js';
export * from './plugin-api.js';
