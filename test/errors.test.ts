import { describe, expect, it } from 'vitest';
import { errorTable, inferenceErrorText, isSwitchboardError, sbError, asRequestError, type ErrorCode } from '../src/errors.js';
import { sbWarning, warningTable, type WarningCode } from '../src/warnings.js';

describe('error table', () => {
  it('has one entry per code, each producing its own code', () => {
    for (const code of Object.keys(errorTable) as ErrorCode[]) {
      const e = sbError(code, 'a', 'b');
      expect(e.code).toBe(code);
      expect(e.status).toBe(errorTable[code].status);
      expect(isSwitchboardError(e)).toBe(true);
    }
  });
  it('pins the number of codes so additions are deliberate', () => {
    expect(Object.keys(errorTable).length).toBe(31);
  });
  it('formats ImmediateResponse bodies like the Go EPP', () => {
    expect(inferenceErrorText(sbError('SB_ERR_NO_CANDIDATES'))).toBe(
      'inference error: ServiceUnavailable - failed to find endpoint candidates for serving the request',
    );
    expect(inferenceErrorText(sbError('SB_ERR_SHED'))).toBe('inference error: ResourceExhausted - system saturated, sheddable request dropped');
    expect(inferenceErrorText(sbError('SB_ERR_MODEL_MISSING'))).toBe('inference error: BadRequest - model not found in request body');
  });
  it('wraps foreign errors as internal', () => {
    const e = asRequestError(new TypeError('boom'));
    expect(e.code).toBe('SB_ERR_INTERNAL');
    expect(e.status).toBe(500);
    expect(isSwitchboardError({})).toBe(false);
  });
});

describe('warning table', () => {
  it('has one entry per code and pins the count', () => {
    for (const code of Object.keys(warningTable) as WarningCode[]) expect(sbWarning(code, 'a', 'b', 'c').code).toBe(code);
    expect(Object.keys(warningTable).length).toBe(6);
    expect(sbWarning('SB_WARN_NO_SCORER', 'p').message).toMatch(/^scheduling profile "p" has no scorer/);
  });
});
