/**
 * Every warning Switchboard logs about its configuration, in one coded table (fastify-style): a
 * user can grep a code, and a test pins the table so additions are deliberate.
 */

export const warningTable = {
  SB_WARN_UNKNOWN_PARAMS: 'plugin "%s" (%s): unknown parameters %s ignored',
  SB_WARN_DEPRECATED_PLUGIN: 'plugin "%s": type "%s" is deprecated, use "%s"',
  SB_WARN_NO_SCORER: 'scheduling profile "%s" has no scorer: every endpoint that passes the filters scores the same and picks are tie-breaks',
  SB_WARN_DEFAULT_PROFILE: 'no scheduling plugins configured: using the default scheduling profile',
  SB_WARN_FLAG_IGNORED: 'flag --%s is accepted and ignored: %s',
  SB_WARN_FLAG_DEPRECATED: 'flag --%s is deprecated: %s',
} as const;

export type WarningCode = keyof typeof warningTable;

/** One configuration warning. */
export interface ConfigWarning {
  readonly code: WarningCode;
  readonly message: string;
}

/** The warning for `code`, its template's `%s` filled in order. */
export function sbWarning(code: WarningCode, ...args: Array<string | number>): ConfigWarning {
  let i = 0;
  const message = warningTable[code].replace(/%s/g, () => (i < args.length ? String(args[i++]) : ''));
  return { code, message };
}
