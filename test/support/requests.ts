/** Sends one completion through a core's director, as a front door would. */
import type { RoutedDecision } from '../../src/director/types.js';
import type { Switchboard } from '../../src/switchboard.js';

/** Routes `{model, prompt}` through `core`; throws if it is rejected. */
export async function routeCompletion(core: Switchboard, model = 'm', prompt = 'hello there'): Promise<RoutedDecision> {
  const d = await core.director.handleRequest({
    requestId: 'test',
    path: '/v1/completions',
    headers: { get: () => undefined },
    body: Buffer.from(JSON.stringify({ model, prompt })),
    subset: null,
  });
  if (d.kind !== 'route') throw new Error(`rejected: ${d.error.message}`);
  return d;
}
