/** Errors of the SQL endpoint: refusals by the guard and failures of the executor. */

/**
 * The guard refused a query: 400 when the text is not SQL we can read (syntax, unsupported
 * construct, too long or too deep), 403 when it is readable but not allowed for the scope.
 */
export class SqlRefused extends Error {
  constructor(
    readonly status: 400 | 403,
    message: string,
  ) {
    super(message);
    this.name = 'SqlRefused';
  }
}

/** 400 syntax, 408 time limit, 413 result/memory limits, 429 concurrency or quota; `limit` names the setting. */
export class SqlExecutionError extends Error {
  constructor(
    readonly status: 400 | 403 | 408 | 413 | 429,
    message: string,
    readonly limit?: string,
    /** ClickHouse's error code when there was one */
    readonly code?: number,
  ) {
    super(message);
    this.name = 'SqlExecutionError';
  }
}
