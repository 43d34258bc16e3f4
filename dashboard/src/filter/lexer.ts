/**
 * Tokens of the filter language. One pass over the text, no regular expression over the
 * whole input:
 *
 *   word    = 1*( ALPHA / DIGIT / "-" / "_" / "." / ":" / "/" )   bare words, numbers, addresses, CIDRs
 *   string  = "'" *( char / "\'" / "\\" ) "'"  /  '"' *( char / '\"' / "\\" ) '"'
 *             (a backslash before anything else is itself: 'web\%' is the 5 characters web\%)
 *   op      = "=" / "==" / "!=" / "<>" / "<" / "<=" / ">" / ">=" / "!" / "&&" / "||"
 *   punct   = "(" / ")" / "[" / "]" / ","
 *
 * Whitespace (space, tab, CR, LF) separates tokens. Anything else is a FilterError.
 */
import { FilterError } from './errors.ts';

export type TokenKind = 'word' | 'string' | 'op' | 'punct' | 'end';

export interface Token {
  readonly kind: TokenKind;
  /** the source text of the token (for errors) */
  readonly text: string;
  /** words: the text; strings: the unescaped content; ops: the canonical operator */
  readonly value: string;
  /** 0-based offset of the token's first character */
  readonly pos: number;
}

function isWordChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    (c >= 48 && c <= 58) || // 0-9 and ':'
    c === 45 || // '-'
    c === 95 || // '_'
    c === 46 || // '.'
    c === 47 // '/'
  );
}

const TWO_CHAR_OPS: Record<string, string> = {
  '==': '=',
  '!=': '!=',
  '<>': '!=',
  '<=': '<=',
  '>=': '>=',
  '&&': '&&',
  '||': '||',
};

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const ch = text[i];
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    const start = i;
    if (isWordChar(c)) {
      while (i < n && isWordChar(text.charCodeAt(i))) i++;
      const word = text.slice(start, i);
      tokens.push({ kind: 'word', text: word, value: word, pos: start });
      continue;
    }
    if (ch === "'" || ch === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= n) throw new FilterError(n, `a closing ${ch} for the string at ${start}`, '');
        const d = text[i];
        if (d === ch) break;
        if (d === '\\' && (text[i + 1] === ch || text[i + 1] === '\\')) {
          value += text[i + 1];
          i += 2;
        } else {
          value += d;
          i++;
        }
      }
      i++;
      tokens.push({ kind: 'string', text: text.slice(start, i), value, pos: start });
      continue;
    }
    const two = text.slice(i, i + 2);
    const op2 = TWO_CHAR_OPS[two];
    if (op2 !== undefined) {
      i += 2;
      tokens.push({ kind: 'op', text: two, value: op2, pos: start });
      continue;
    }
    if (ch === '=' || ch === '<' || ch === '>' || ch === '!') {
      i++;
      tokens.push({ kind: 'op', text: ch, value: ch, pos: start });
      continue;
    }
    if (ch === '(' || ch === ')' || ch === '[' || ch === ']' || ch === ',') {
      i++;
      tokens.push({ kind: 'punct', text: ch, value: ch, pos: start });
      continue;
    }
    // one whole code point, so the message never shows half a surrogate pair
    const cp = text.codePointAt(i) ?? c;
    const got = String.fromCodePoint(cp);
    throw new FilterError(
      start,
      ch === '&' ? "'&&'" : ch === '|' ? "'||'" : 'a word, a quoted string, an operator or a parenthesis',
      got,
    );
  }
  tokens.push({ kind: 'end', text: '', value: '', pos: n });
  return tokens;
}
