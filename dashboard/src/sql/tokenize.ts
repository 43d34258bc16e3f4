/**
 * A tokenizer for ClickHouse SQL, following its lexer (src/Parsers/Lexer.cpp):
 * single-quoted strings with backslash escapes and '' doubling, "double-quoted" and
 * `backquoted` identifiers (same escapes, doubled quote), `--` and `/* *\/` comments,
 * numbers (decimal, 0x hex, 0b binary, fractions, exponents), operators, `;`.
 *
 * Strings and quoted identifiers are decoded to their values here; the emitter writes them
 * back through quoteString / its own identifier quoting, so no user text is ever spliced
 * into the SQL that runs. Anything outside printable ASCII, outside strings, quoted names and
 * comments, is refused (unicode lookalikes, NUL bytes, non-breaking spaces).
 */
import { SqlRefused } from './errors.ts';

export type TokenKind =
  | 'ident' // bare word: keyword or identifier (value = the text)
  | 'qident' // "quoted" or `quoted` identifier (value = decoded name)
  | 'string' // 'string' (value = decoded)
  | 'number' // value = the text, checked against NUMBER below
  | 'op' // operator or punctuation (value = the text)
  | 'eof';

export interface Token {
  kind: TokenKind;
  value: string;
  /** offset in the text (UTF-16 units), for error messages */
  pos: number;
}

/** Operators, longest first. */
const OPERATORS = [
  '->',
  '<=',
  '>=',
  '<>',
  '!=',
  '==',
  '||',
  '+',
  '-',
  '*',
  '/',
  '%',
  '=',
  '<',
  '>',
  '(',
  ')',
  '[',
  ']',
  ',',
  '.',
  '?',
  ':',
  ';',
];

const isDigit = (c: string) => c >= '0' && c <= '9';
const isWordStart = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isWord = (c: string) => isWordStart(c) || isDigit(c);
const isHex = (c: string) => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
const WHITESPACE = new Set([' ', '\t', '\n', '\r', '\f', '\v']);

const SIMPLE_ESCAPES: Record<string, string> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  '0': '\0',
  a: '\x07',
  v: '\v',
};

function describeChar(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  if (cp < 0x20 || cp === 0x7f)
    return `control character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return `character '${String.fromCodePoint(cp)}' (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
}

/**
 * Reads a quoted token starting at `start` (the opening quote). Backslash escapes as in
 * ClickHouse: \b \f \n \r \t \0 \a \v \xHH (exactly two hex digits, at most 7f), and \c for any
 * other c means c; a doubled
 * quote means one quote.
 */
function readQuoted(
  text: string,
  start: number,
  quote: string,
  what: string,
): { value: string; end: number } {
  let out = '';
  let i = start + 1;
  for (;;) {
    if (i >= text.length) throw new SqlRefused(400, `at ${start}: ${what} is not closed`);
    const c = text[i];
    if (c === '\\') {
      const n = text[i + 1];
      if (n === undefined) throw new SqlRefused(400, `at ${start}: ${what} is not closed`);
      if (n === 'x' || n === 'X') {
        // ClickHouse takes the next two characters as hex digits, whatever they are
        const h = text.slice(i + 2, i + 4);
        if (!(h.length === 2 && isHex(h[0]) && isHex(h[1]))) {
          throw new SqlRefused(400, `at ${i}: \\x must be followed by two hex digits`);
        }
        const code = Number.parseInt(h, 16);
        if (code > 0x7f) {
          throw new SqlRefused(
            400,
            `at ${i}: the escape \\x${h} (a byte above \\x7f) is not supported; write the character itself`,
          );
        }
        out += String.fromCharCode(code);
        i += 4;
        continue;
      }
      out += SIMPLE_ESCAPES[n] ?? n;
      i += 2;
      continue;
    }
    if (c === quote) {
      if (text[i + 1] === quote) {
        out += quote;
        i += 2;
        continue;
      }
      return { value: out, end: i + 1 };
    }
    out += c;
    i++;
  }
}

/** The number forms we accept (a subset of ClickHouse's: no hex floats). */
export const NUMBER =
  /^(0[xX][0-9a-fA-F]+|0[bB][01]+|([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|inf|nan)$/;

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (WHITESPACE.has(c)) {
      i++;
      continue;
    }
    // comments
    if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i + 2);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new SqlRefused(400, `at ${i}: comment /* is not closed`);
      // ClickHouse 18.16 ends a comment at the first */, current releases nest them: refuse
      // the ambiguous case rather than guess which one the reader meant.
      if (text.slice(i + 2, end).includes('/*')) {
        throw new SqlRefused(400, `at ${i}: nested /* comments are not supported`);
      }
      i = end + 2;
      continue;
    }
    if (c === "'") {
      const { value, end } = readQuoted(text, i, "'", 'string literal');
      tokens.push({ kind: 'string', value, pos: i });
      i = end;
      continue;
    }
    if (c === '"' || c === '`') {
      const { value, end } = readQuoted(text, i, c, 'quoted identifier');
      if (value === '') throw new SqlRefused(400, `at ${i}: empty quoted identifier`);
      tokens.push({ kind: 'qident', value, pos: i });
      i = end;
      continue;
    }
    // numbers; '.5' is a number unless it follows something that can be indexed (t.1)
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1] ?? '') && !followsOperand(tokens))) {
      let j = i;
      if (c === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') && isHex(text[i + 2] ?? '')) {
        j = i + 2;
        while (j < n && isHex(text[j])) j++;
      } else if (
        c === '0' &&
        (text[i + 1] === 'b' || text[i + 1] === 'B') &&
        /[01]/.test(text[i + 2] ?? '')
      ) {
        j = i + 2;
        while (j < n && (text[j] === '0' || text[j] === '1')) j++;
      } else {
        while (j < n && isDigit(text[j])) j++;
        // after a tuple access (t.1.2) the number is an integer only
        if (text[j] === '.' && !(tokens.at(-1)?.value === '.' && tokens.at(-1)?.kind === 'op')) {
          j++;
          while (j < n && isDigit(text[j])) j++;
        }
        if (
          (text[j] === 'e' || text[j] === 'E') &&
          (isDigit(text[j + 1] ?? '') || (/[+-]/.test(text[j + 1] ?? '') && isDigit(text[j + 2] ?? '')))
        ) {
          j += 2;
          while (j < n && isDigit(text[j])) j++;
        }
      }
      if (j < n && isWord(text[j])) {
        throw new SqlRefused(400, `at ${i}: malformed number '${text.slice(i, Math.min(j + 1, i + 40))}'`);
      }
      const value = text.slice(i, j);
      if (!NUMBER.test(value)) throw new SqlRefused(400, `at ${i}: malformed number '${value}'`);
      tokens.push({ kind: 'number', value, pos: i });
      i = j;
      continue;
    }
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWord(text[j])) j++;
      tokens.push({ kind: 'ident', value: text.slice(i, j), pos: i });
      i = j;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op) {
      tokens.push({ kind: 'op', value: op, pos: i });
      i += op.length;
      continue;
    }
    const ch = String.fromCodePoint(text.codePointAt(i) ?? 0);
    throw new SqlRefused(400, `at ${i}: unexpected ${describeChar(ch)}`);
  }
  tokens.push({ kind: 'eof', value: '', pos: n });
  return tokens;
}

/** Whether the last token ends an operand, so that a following '.1' is a tuple access. */
function followsOperand(tokens: Token[]): boolean {
  const t = tokens.at(-1);
  if (!t) return false;
  if (t.kind === 'ident' || t.kind === 'qident') return true;
  // t.1.2: a number right after a tuple access dot
  if (t.kind === 'number') return tokens.at(-2)?.kind === 'op' && tokens.at(-2)?.value === '.';
  return t.kind === 'op' && (t.value === ')' || t.value === ']');
}
