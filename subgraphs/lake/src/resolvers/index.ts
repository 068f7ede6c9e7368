/**
 * Resolvers of schema.graphql: thin — check arguments, call the tenant-bound data layer, shape the result.
 * Deny by default: {@link guardResolvers} makes every root field require a verified token (no public fields).
 */
import {
  JSONScalar,
  badUserInput,
  guardResolvers,
  notFound,
  requireTenant,
  type RequestContext,
} from '@datapilot/common';
import type { TableInfo } from '@datapilot/lake-core';
import { decodeCursor, encodeCursor } from '../data/cursor.ts';
import type { LakeData } from '../data/lake-data.ts';

/** The request context of the lake subgraph: the verified tenant and its data layer (null when anonymous). */
export type LakeContext = RequestContext & { lake: LakeData | null };

/** Page size bounds of `LakeTable.rows(first:)`. */
export const MAX_PAGE_SIZE = 1000;

const data = (ctx: LakeContext): LakeData => {
  requireTenant(ctx);
  if (!ctx.lake) throw new Error('lake data layer missing from the context');
  return ctx.lake;
};

type Connection = { table: string; offset: number; first: number; rows: Record<string, unknown>[] };

/** Builds the guarded resolver map. */
export function createResolvers() {
  const guarded = guardResolvers({
    Query: {
      lakeTables: (_: unknown, __: unknown, ctx: LakeContext) => data(ctx).tables(),
      lakeTable: async (_: unknown, args: { name: string }, ctx: LakeContext) => {
        const table = await data(ctx).table(args.name);
        if (!table) throw notFound(`Lake table ${JSON.stringify(args.name)}`);
        return table;
      },
    },
    LakeTable: {
      rowCount: (t: TableInfo, _: unknown, ctx: LakeContext) => data(ctx).rowCount(t.name),
      rows: async (t: TableInfo, args: { first?: number | null; after?: string | null }, ctx: LakeContext) => {
        const first = args.first ?? 50;
        if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE)
          throw badUserInput(`first must be between 1 and ${MAX_PAGE_SIZE}.`, 'first');
        const offset = args.after === undefined || args.after === null ? 0 : decodeCursor(args.after) + 1;
        const page = await data(ctx).rows(t.name, first + 1, offset);
        return { table: t.name, offset, first, rows: page.rows } satisfies Connection;
      },
    },
    LakeRowConnection: {
      edges: (c: Connection) =>
        c.rows.slice(0, c.first).map((node, i) => ({ cursor: encodeCursor(c.offset + i), node })),
      pageInfo: (c: Connection) => {
        const n = Math.min(c.rows.length, c.first);
        return { hasNextPage: c.rows.length > c.first, endCursor: n > 0 ? encodeCursor(c.offset + n - 1) : null };
      },
      totalCount: (c: Connection, _: unknown, ctx: LakeContext) => data(ctx).rowCount(c.table),
    },
  });
  // The scalar stays outside the guard (it is a type, not a field).
  return { ...guarded, JSON: JSONScalar };
}
