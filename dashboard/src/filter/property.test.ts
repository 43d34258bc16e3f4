import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterText, tokenSoup } from './arbitraries.ts';
import { compileFilter, FilterError, MAX_FILTER_LENGTH, validateFilter } from './index.ts';
import { sqlShapeProblem } from './sql-shape.ts';

/** compileFilter must return SQL of our shape, or throw a FilterError pointing into the text. */
function check(text: string): void {
  let out: ReturnType<typeof compileFilter>;
  try {
    out = compileFilter(text);
  } catch (err) {
    if (!(err instanceof FilterError)) throw err;
    expect(err.position).toBeGreaterThanOrEqual(0);
    expect(err.position).toBeLessThanOrEqual(text.length);
    expect(err.message).toMatch(/^at \d+: expected .+, got (end of input|'[\s\S]*')$/);
    const v = validateFilter(text);
    expect(v.ok).toBe(false);
    return;
  }
  const problem = sqlShapeProblem(out.sql);
  if (problem) throw new Error(`${problem}: ${JSON.stringify(text)} → ${out.sql}`);
  expect(validateFilter(text)).toEqual({ ok: true, columns: [...out.columns] });
}

describe('filter language properties', () => {
  it('any string: FilterError or well-formed SQL, nothing else', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), check), { numRuns: 1000 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), check), { numRuns: 500 });
  });

  it('grammar-shaped filters: FilterError or well-formed SQL', () => {
    fc.assert(fc.property(filterText, check), { numRuns: 3000 });
  });

  it('token soup: FilterError or well-formed SQL', () => {
    fc.assert(fc.property(tokenSoup, check), { numRuns: 3000 });
  });

  it('never hangs: the largest inputs compile or fail fast', () => {
    const inputs = [
      'tcp or '.repeat(584) + 'tcp',
      '('.repeat(4096),
      'not '.repeat(1024),
      '!'.repeat(4096),
      `tenant '${'\\'.repeat(4000)}`,
      `port in [${'1, '.repeat(1360)}]`,
      `tenant '${"\\'".repeat(2000)}'`,
      'a'.repeat(4096),
      '1'.repeat(MAX_FILTER_LENGTH + 1_000_000),
    ];
    for (const text of inputs) {
      const t0 = performance.now();
      check(text);
      expect(performance.now() - t0, text.slice(0, 20)).toBeLessThan(200);
    }
  });
});
