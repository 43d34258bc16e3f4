/**
 * The one error the filter language throws. `position` is a 0-based offset (UTF-16 code
 * units, as JavaScript strings index) into the filter text; the message uses the same
 * number: "at 14: expected a port number, got 'https'". `got` is the offending source text
 * ('' at the end of the input, which the message shows as "end of input").
 */

/** Longest filter accepted, in characters. */
export const MAX_FILTER_LENGTH = 4096;
/** Deepest nesting of parentheses and `not`s accepted (ClickHouse 18.16 crashes near 1000). */
export const MAX_FILTER_DEPTH = 50;

const MAX_GOT = 40;

export class FilterError extends Error {
  readonly position: number;
  readonly expected: string;
  readonly got: string;

  constructor(position: number, expected: string, got: string) {
    const shown = got.length > MAX_GOT ? `${got.slice(0, MAX_GOT)}…` : got;
    super(`at ${position}: expected ${expected}, got ${shown === '' ? 'end of input' : `'${shown}'`}`);
    this.name = 'FilterError';
    this.position = position;
    this.expected = expected;
    this.got = shown;
  }
}
