import { describe, expect, it } from 'vitest';
import { Params } from '../../../src/framework/params.js';
import { metricsDataSource } from '../../../src/datalayer/plugins/metrics-data-source/index.js';

const handle = { pool: null as never, rng: Math.random };
const build = (params: Record<string, unknown>) => metricsDataSource('src', new Params('src', params), handle);

describe('metrics-data-source', () => {
  it.each([
    { params: {}, want: { scheme: 'http', path: '/metrics', insecureSkipVerify: true } },
    { params: { scheme: 'https', path: '/stats', insecureSkipVerify: false }, want: { scheme: 'https', path: '/stats', insecureSkipVerify: false } },
  ])('$params', ({ params, want }) => {
    expect(build(params).settings).toEqual(want);
  });

  it.each([
    { params: { scheme: 'ftp' }, error: /scheme must be one of http, https, got "ftp"/ },
    { params: { path: 'metrics' }, error: /path must start with "\/"/ },
    { params: { insecureSkipVerify: 'yes' }, error: /insecureSkipVerify must be true or false/ },
  ])('refuses $params', ({ params, error }) => {
    expect(() => build(params)).toThrow(error);
  });
});
