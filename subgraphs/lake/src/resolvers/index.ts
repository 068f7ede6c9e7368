/**
 * Resolvers of schema.graphql: thin — check arguments, call the tenant-bound data layer, shape the result.
 * Who may call each root field and entity is the permission table's business (guardSchema, applied by the server).
 */
import {
  DateTimeScalar,
  JSONObjectScalar,
  badUserInput,
  connection,
  notFound,
  pageArgs,
  pageRequest,
  ownOrganizationReference,
  requireTenant,
  type ConnectionArgs,
  type Page,
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Largest page of `LakeTable.rows` (`first` or `last`). */
export const MAX_PAGE_SIZE = 1000;
/** Largest page of `uploads` and `pipelineRuns`. */
export const MAX_LIST_PAGE = 100;

const data = (ctx: LakeContext): LakeData => {
  requireTenant(ctx);
  if (!ctx.lake) throw new Error('lake data layer missing from the context');
  return ctx.lake;
};

/** What `LakeTable.rows` returns: a page of rows and its table's row count (asked once, by `last` or `totalCount`). */
type RowConnection = { count: () => Promise<number> } & ReturnType<typeof connection<Record<string, unknown>>>;

type RunsArgs = ConnectionArgs & { table?: string | null };

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
      uploads: async (_: unknown, args: ConnectionArgs, ctx: LakeContext) =>
        connection(await data(ctx).records.listUploads(pageArgs(args, 'upload', 20, MAX_LIST_PAGE))),
      upload: async (_: unknown, args: { id: string }, ctx: LakeContext) => {
        const upload = await data(ctx).records.getUpload(uuidArg(args.id, 'id'));
        if (!upload) throw notFound('Upload');
        return upload;
      },
      pipelineRuns: async (_: unknown, args: RunsArgs, ctx: LakeContext) => {
        const page = pageArgs(args, 'run', 20, MAX_LIST_PAGE);
        if (args.table != null && !isTableName(args.table))
          throw badUserInput('table must be a table name (^[a-z][a-z0-9_]{0,62}$).', 'table');
        return connection(await data(ctx).records.listRuns(page, args.table ?? null));
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
    Organization: {
      // Only the caller's own organization resolves (its fields are the caller's lists).
      __resolveReference: ownOrganizationReference,
      tables: (_: unknown, __: unknown, ctx: LakeContext) => data(ctx).tables(),
      pipelineRuns: (_: unknown, args: RunsArgs, ctx: LakeContext) => resolvers.Query.pipelineRuns(_, args, ctx),
    },
    LakeTable: {
      // Batched: the names of one request cost one listing of the org's tables.
      __resolveReference: (ref: { name: unknown }, ctx: LakeContext) =>
        typeof ref.name === 'string' && isTableName(ref.name) ? data(ctx).tableByName(ref.name) : null,
      dataset: (t: TableInfo) => ({ __typename: 'Dataset', name: t.name }),
      lastRun: (t: TableInfo, _: unknown, ctx: LakeContext) => data(ctx).latestRunOfTable(t.name),
      rowCount: (t: TableInfo, _: unknown, ctx: LakeContext) => data(ctx).rowCount(t.name),
      rows: async (t: TableInfo, args: ConnectionArgs, ctx: LakeContext): Promise<RowConnection> => {
        const d = data(ctx);
        let total: Promise<number> | undefined;
        const count = () => (total ??= d.rowCount(t.name));
        const req = pageRequest(args, (c) => decodeCursor(t.name, c), 50, MAX_PAGE_SIZE);
        const { page, positions } = await d.rowsPage(t.name, req);
        const items = page.items.map((e, i) => ({ node: e.node, cursor: encodeCursor(t.name, positions[i]!) }));
        const withCursors: Page<Record<string, unknown>> = {
          items,
          pageInfo: {
            ...page.pageInfo,
            startCursor: items[0]?.cursor ?? null,
            endCursor: items.at(-1)?.cursor ?? null,
          },
        };
        return { count, ...connection(withCursors) };
      },
    },
    LakeRowConnection: {
      totalCount: (c: RowConnection) => c.count(),
    },
    Upload: {
      __resolveReference: (ref: { id: unknown }, ctx: LakeContext) =>
        typeof ref.id === 'string' && UUID.test(ref.id) ? data(ctx).uploadById(ref.id.toLowerCase()) : null,
      uploadedBy: (u: Upload) => ({ __typename: 'User', id: u.createdBy }),
      run: (u: Upload, _: unknown, ctx: LakeContext) => data(ctx).latestRun(u.id),
    },
    PipelineRun: {
      __resolveReference: (ref: { id: unknown }, ctx: LakeContext) =>
        typeof ref.id === 'string' && UUID.test(ref.id) ? data(ctx).runById(ref.id.toLowerCase()) : null,
      triggeredBy: (r: PipelineRun) => ({ __typename: 'User', id: r.triggeredBy }),
      lakeTable: (r: PipelineRun, _: unknown, ctx: LakeContext) => data(ctx).tableByName(r.table),
      upload: async (r: PipelineRun, _: unknown, ctx: LakeContext) => {
        const upload = await data(ctx).uploadById(r.uploadId);
        if (!upload) throw notFound('Upload');
        return upload;
      },
      quality: (r: PipelineRun) => qualityOf(r.quality),
    },
  };
  return { ...resolvers, JSONObject: JSONObjectScalar, DateTime: DateTimeScalar };
}
