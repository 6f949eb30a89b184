/** The proxy front door's public surface: the server factory, its settings and its flags. */
export { startProxyServer, INFERENCE_PATHS, type ProxyServer, type ProxyServerOptions } from './server.js';
export { DEFAULT_PROXY_SETTINGS, resolveProxySettings, type ProxySettings, type ProxySettingsInput } from './options.js';
export { PROXY_FLAGS, proxyFlagValues, type ProxyFlagSpec, type ProxyFlagValues } from './flags.js';
export { ProxyMetrics } from './proxy-metrics.js';
export type { ProxyLogger } from './exchange.js';
