/**
 * Resolvers of schema.graphql: thin — check arguments, call the tenant-bound data layer, shape the result.
 * Who may call each root field and entity is the permission table's business (guardSchema, applied by the server).
 */
import {
  DateTimeScalar,
  JSONScalar,
  badUserInput,
  connection,
  notFound,
  pageArgs,
  requireTenant,
  uuidArg,
  type RequestContext,
} from '@datapilot/common';
import { isTableName, type TableInfo } from '@datapilot/lake-core';
import { decodeCursor, encodeCursor } from '../data/cursor.ts';
import type { LakeData } from '../data/lake-data.ts';
import type { PipelineRun, QualityReport, Upload } from '../data/records.ts';
import { runEventStream, type PipelineRunEvent } from '../runs/events.ts';
import type { CreateUploadInput } from '../uploads.ts';

/** The request context of the lake subgraph: the verified tenant and its data layer (null when anonymous). */
export type LakeContext = RequestContext & { lake: LakeData | null };

/** Page size bounds of `LakeTable.rows(first:)`. */
export const MAX_PAGE_SIZE = 1000;
/** Largest page of `uploads` and `pipelineRuns`. */
export const MAX_LIST_PAGE = 100;

const data = (ctx: LakeContext): LakeData => {
  requireTenant(ctx);
  if (!ctx.lake) throw new Error('lake data layer missing from the context');
  return ctx.lake;
};

type Connection = { table: string; offset: number; first: number; rows: Record<string, unknown>[] };

/** A quality report in the API's shape; null counts in table order when the report has the columns. */
function qualityOf(q: QualityReport | null) {
  if (!q) return null;
  const order = q.columns?.map((c) => c.name) ?? Object.keys(q.null_counts);
  const names = [...order, ...Object.keys(q.null_counts).filter((n) => !order.includes(n))];
  return {
    rowsRead: q.rows_read,
    rowsWritten: q.rows_written,
    rowsRejected: q.rows_rejected,
    nullCounts: names.filter((n) => n in q.null_counts).map((n) => ({ column: n, nulls: q.null_counts[n] })),
    rejected: q.rejected,
  };
}

/** Builds the guarded resolver map. */
export function createResolvers() {
  const resolvers = {
    Query: {
      lakeTables: (_: unknown, __: unknown, ctx: LakeContext) => data(ctx).tables(),
      lakeTable: async (_: unknown, args: { name: string }, ctx: LakeContext) => {
        const table = await data(ctx).table(args.name);
        if (!table) throw notFound(`Lake table ${JSON.stringify(args.name)}`);
        return table;
      },
      uploads: async (_: unknown, args: { first?: number; after?: string }, ctx: LakeContext) => {
        const { first, after } = pageArgs(args, 'upload', 20, MAX_LIST_PAGE);
        return connection(await data(ctx).records.listUploads(first, after));
      },
      upload: async (_: unknown, args: { id: string }, ctx: LakeContext) => {
        const upload = await data(ctx).records.getUpload(uuidArg(args.id, 'id'));
        if (!upload) throw notFound('Upload');
        return upload;
      },
      pipelineRuns: async (
        _: unknown,
        args: { first?: number; after?: string; table?: string | null },
        ctx: LakeContext,
      ) => {
        const { first, after } = pageArgs(args, 'run', 20, MAX_LIST_PAGE);
        if (args.table != null && !isTableName(args.table))
          throw badUserInput('table must be a table name (^[a-z][a-z0-9_]{0,62}$).', 'table');
        return connection(await data(ctx).records.listRuns(first, after, args.table ?? null));
      },
      pipelineRun: async (_: unknown, args: { id: string }, ctx: LakeContext) => {
        const run = await data(ctx).records.getRun(uuidArg(args.id, 'id'));
        if (!run) throw notFound('Pipeline run');
        return run;
      },
    },
    Mutation: {
      createUpload: (_: unknown, args: { input: CreateUploadInput }, ctx: LakeContext) =>
        data(ctx).uploads.create(args.input),
      completeUpload: (_: unknown, args: { id: string }, ctx: LakeContext) =>
        data(ctx).uploads.complete(uuidArg(args.id, 'id')),
      reloadTable: (_: unknown, args: { name: string }, ctx: LakeContext) => data(ctx).uploads.reload(args.name),
    },
    Subscription: {
      pipelineRunEvents: {
        // Checks first (a foreign or unknown id fails the subscription with NOT_FOUND), then streams.
        subscribe: async (_: unknown, args: { runId: string }, ctx: LakeContext) => {
          const d = data(ctx);
          const run = await d.records.getRun(uuidArg(args.runId, 'runId'));
          if (!run) throw notFound('Pipeline run');
          return runEventStream(d.records, d.runEvents, run);
        },
        resolve: (event: PipelineRunEvent) => event,
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
    Upload: {
      run: (u: Upload, _: unknown, ctx: LakeContext) => data(ctx).latestRun(u.id),
    },
    PipelineRun: {
      upload: async (r: PipelineRun, _: unknown, ctx: LakeContext) => {
        const upload = await data(ctx).uploadById(r.uploadId);
        if (!upload) throw notFound('Upload');
        return upload;
      },
      quality: (r: PipelineRun) => qualityOf(r.quality),
    },
  };
  return { ...resolvers, JSON: JSONScalar, DateTime: DateTimeScalar };
}
