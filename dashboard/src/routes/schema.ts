/** The flow schema as the API offers it: dimensions, units, filter keywords (for the UI and scripts). */
import { Type } from '@sinclair/typebox';
import { COLUMNS } from '../../../protocol/src/schema/columns.ts';
import type { RouteContext } from '../app.ts';
import type { App } from '../deps.ts';
import { FILTER_KEYWORDS } from '../filter/index.ts';
import { UNITS } from '../query/traffic.ts';
import { errors } from './common.ts';

export function schemaRoutes(app: App, _ctx: RouteContext): void {
  const body = {
    columns: COLUMNS.map((c) => ({
      name: c.name,
      kind: c.kind,
      description: c.description,
      dimension: c.dimension,
      rollup: c.rollup,
    })),
    units: [...UNITS],
    filterKeywords: FILTER_KEYWORDS.map(({ values, ...k }) => ({
      ...k,
      ...(values ? { values: [...values] } : {}),
    })),
  };
  app.get(
    '/api/v1/schema',
    {
      schema: {
        tags: ['schema'],
        summary: 'flow columns (which are dimensions, which the rollups keep), units and filter keywords',
        response: {
          200: Type.Object({
            columns: Type.Array(
              Type.Object({
                name: Type.String(),
                kind: Type.String(),
                description: Type.String(),
                dimension: Type.Boolean(),
                rollup: Type.Boolean(),
              }),
            ),
            units: Type.Array(Type.String()),
            filterKeywords: Type.Array(
              Type.Object({
                keyword: Type.String(),
                description: Type.String(),
                example: Type.String(),
                values: Type.Optional(Type.Array(Type.String())),
              }),
            ),
          }),
          ...errors(401),
        },
      },
    },
    async () => body,
  );
}
