/** Filter validation for the UI's filter box: the error and its position, or the columns it reads. */
import { Type } from '@sinclair/typebox';
import type { RouteContext } from '../app.ts';
import type { App } from '../deps.ts';
import { validateFilter } from '../filter/index.ts';
import { ROLLUP_COLUMNS } from '../query/columns.ts';
import { errors } from './common.ts';

export function filterRoutes(app: App, _ctx: RouteContext): void {
  app.post(
    '/api/v1/filter/validate',
    {
      schema: {
        tags: ['filter'],
        summary: 'check a filter expression',
        body: Type.Object({ filter: Type.String({ maxLength: 8192 }) }, { additionalProperties: false }),
        response: {
          200: Type.Union([
            Type.Object({
              valid: Type.Literal(true),
              columns: Type.Array(Type.String()),
              rollup: Type.Boolean(),
            }),
            Type.Object({
              valid: Type.Literal(false),
              error: Type.String(),
              position: Type.Integer(),
              expected: Type.String(),
            }),
          ]),
          ...errors(400, 401),
        },
      },
    },
    async (req) => {
      const r = validateFilter(req.body.filter);
      if (r.ok)
        return {
          valid: true as const,
          columns: r.columns,
          rollup: r.columns.every((c) => ROLLUP_COLUMNS.has(c)),
        };
      return { valid: false as const, error: r.error, position: r.position, expected: r.expected };
    },
  );
}
