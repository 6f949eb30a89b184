/** `metrics-data-source`: where each endpoint's metrics page is fetched. See README.md. */
import type { Factory } from '../../../framework/plugin.js';
import type { MetricsDataSource } from '../../framework/data-layer.js';

export const METRICS_DATA_SOURCE = 'metrics-data-source';

export const metricsDataSource: Factory<MetricsDataSource> = (name, p) => {
  const path = p.string('path', '/metrics');
  if (!path.startsWith('/')) p.fail('path', `must start with "/", got "${path}"`);
  return {
    typedName: { type: METRICS_DATA_SOURCE, name },
    settings: {
      scheme: p.string('scheme', 'http', ['http', 'https'] as const),
      path,
      insecureSkipVerify: p.boolean('insecureSkipVerify', true),
    },
  };
};
