/**
 * common/: the small leaves every part may import (this error class, the logger); it
 * imports no part itself, and knows nothing of the command line.
 *
 * Errors that are the user's to fix (bad config, missing binary, unreadable file): the CLI
 * prints their message on one line and exits 2, with no stack trace. Anything else is a bug
 * and keeps its stack.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
