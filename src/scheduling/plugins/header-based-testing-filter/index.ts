/**
 * `header-based-testing-filter`: keeps the endpoints named in the `test-epp-endpoint-selection`
 * header. For the Gateway API Inference Extension conformance suite only. See README.md.
 */
import type { Filter, PluginFactory } from '../../framework/plugin.js';
import { typed } from '../common.js';

export const HEADER_BASED_TESTING_FILTER = 'header-based-testing-filter';
export const TEST_SELECTION_HEADER = 'test-epp-endpoint-selection';

export const headerBasedTestingFilter: PluginFactory = (name, p, { pool }) => {
  const header = p.string('headerName', TEST_SELECTION_HEADER);
  const filter: Filter = {
    typedName: typed(HEADER_BASED_TESTING_FILTER, name),
    filter(cycle, input, out) {
      const value = cycle.request.headers?.get(header);
      if (value === undefined || value.trim() === '') return; // absent: nothing passes
      const wanted = new Set(value.split(',').map((s) => s.trim()).filter((s) => s !== ''));
      for (let k = 0; k < input.length; k++) {
        const s = input.slots[k];
        const ep = pool.atSlot(s);
        if (ep !== null && (wanted.has(ep.key) || wanted.has(ep.address))) out.push(s);
      }
    },
  };
  return filter;
};
