/**
 * Uploads and runs as the API offers them: the rules of `createUpload`, `completeUpload` and `reloadTable`
 * (schema.graphql), over the tenant's records, the lake's object store and the run watcher.
 */
import { randomUUID } from 'node:crypto';
import { DataPilotError, badUserInput, notFound, rateLimited, textArg, type TenantContext } from '@datapilot/common';
import { FILE_NAME_PATTERN, bronzeKey, incomingKey, isTableName, type ObjectStore } from '@datapilot/lake-core';
import type { LakeRecords, LoadMode, NewRun, OpenUploads, PipelineRun, Upload, UploadFormat } from './data/records.ts';
import { INGEST_DAG_ID, dagRunIdFor } from './runs/pipeline.ts';

/**
 * Limits of uploads (configuration: UPLOAD_MAX_BYTES, UPLOAD_URL_TTL_SECONDS, UPLOAD_MAX_PENDING,
 * LAKE_MAX_CONCURRENT_UPLOADS_PER_ORG).
 */
export type UploadLimits = {
  /** Largest announced size, in bytes (default 1 GiB; at most 2^31 - 1, GraphQL's Int). */
  maxBytes: number;
  /** How long a presigned URL works, in seconds (default 900). */
  urlTtlSeconds: number;
  /** How many PENDING uploads whose URL still works an organization may have at once (default 100). */
  maxPending: number;
  /**
   * How many uploads an organization may have in progress at once — PENDING with a working URL, UPLOADED or LOADING
   * (its file not yet loaded, nor failed) —, `maxPending` of them at most still waiting for their file (default
   * {@link DEFAULT_MAX_UPLOADS_IN_PROGRESS}). Counted in PostgreSQL: one bound for every replica.
   */
  maxInProgress?: number;
};

/** Default of {@link UploadLimits.maxInProgress} (LAKE_MAX_CONCURRENT_UPLOADS_PER_ORG). */
export const DEFAULT_MAX_UPLOADS_IN_PROGRESS = 100;
/** How long a load is assumed to take before the organization has a finished one, in seconds. */
const TYPICAL_LOAD_SECONDS = 60;

/**
 * Whether `createUpload` may store one more upload for an organization with `open` uploads in progress; see
 * {@link UploadLimits}. `retryAfterSeconds` is when the first of them should leave the count: a PENDING one when its
 * URL expires, a loading one when its load ends — estimated as the organization's mean load time (the latest
 * finished upload runs; 60 s before any) after its completion, at least now.
 * @returns RATE_LIMITED with `extensions.retryAfterSeconds`, or null.
 */
export function uploadRefusal(open: OpenUploads, limits: UploadLimits): DataPilotError | null {
  const maxInProgress = limits.maxInProgress ?? DEFAULT_MAX_UPLOADS_IN_PROGRESS;
  const pendingLeftMs = open.pendingExpiresInSeconds === null ? Infinity : open.pendingExpiresInSeconds * 1000;
  if (open.pending + open.loading >= maxInProgress) {
    const mean = open.meanLoadSeconds ?? TYPICAL_LOAD_SECONDS;
    const loadLeftMs = open.oldestLoadSeconds === null ? Infinity : Math.max(0, mean - open.oldestLoadSeconds) * 1000;
    return rateLimited(
      `The organization has ${open.pending + open.loading} uploads in progress (waiting for their file or being ` +
        'loaded), its limit; create more when some of them are loaded, or let the unused ones expire.',
      Math.min(pendingLeftMs, loadLeftMs),
    );
  }
  if (open.pending >= limits.maxPending)
    return rateLimited(
      `The organization has ${open.pending} uploads waiting for their file; complete them or let them expire first.`,
      pendingLeftMs,
    );
  return null;
}

/** Most uploads one reloadTable replays (the latest OVERWRITE and the APPENDs after it). */
export const MAX_RELOAD_UPLOADS = 1_000;

/** Largest `maxBadRecords`. */
export const MAX_BAD_RECORDS = 10_000;
/** Longest announced file name, in characters. */
export const MAX_FILE_NAME_CHARS = 255;

/** The media type an upload's PUT must carry, by format (Parquet: IANA `application/vnd.apache.parquet`). */
export const CONTENT_TYPES: Record<UploadFormat, string> = {
  CSV: 'text/csv',
  JSON: 'application/json',
  NDJSON: 'application/x-ndjson',
  PARQUET: 'application/vnd.apache.parquet',
};
const EXTENSIONS: Record<UploadFormat, string> = { CSV: 'csv', JSON: 'json', NDJSON: 'ndjson', PARQUET: 'parquet' };

/** `createUpload`'s input after GraphQL coercion. */
export type CreateUploadInput = {
  table: string;
  fileName: string;
  format: UploadFormat;
  sizeBytes: number;
  mode?: LoadMode | null;
  maxBadRecords?: number | null;
};

/**
 * The stored name of an announced file name: accents dropped, every run of characters outside `[A-Za-z0-9._-]`
 * turned into `_`, no leading dot, at most 100 characters with the extension kept; `upload.<ext>` when nothing is left.
 * The key never carries what the client typed verbatim (the API shows the announced name back).
 */
export function storedFileName(fileName: string, format: UploadFormat): string {
  const ascii = fileName.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  let name = ascii
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .replace(/_+$/, '');
  if (name.length > 100) {
    const ext = /\.[A-Za-z0-9]{1,10}$/.exec(name)?.[0] ?? '';
    name = name.slice(0, 100 - ext.length) + ext;
  }
  return FILE_NAME_PATTERN.test(name) ? name : `upload.${EXTENSIONS[format]}`;
}

/**
 * Characters a file name may not hold (Unicode general categories): controls (Cc: C0 and C1), format characters (Cf:
 * the bidirectional overrides and isolates of Unicode TR #9 — the "Trojan Source" concern —, zero-width spaces and
 * joiners, U+FEFF), private-use characters (Co) and the line and paragraph separators (Zl, Zp): all of them make a
 * name display other than it is.
 */
const UNSAFE_NAME_CHARS = /[\p{Cc}\p{Cf}\p{Co}\p{Zl}\p{Zp}]/u;

/** Checks `createUpload`'s input. @throws BAD_USER_INPUT naming the field. */
export function checkUploadInput(input: CreateUploadInput, limits: UploadLimits) {
  if (!isTableName(input.table))
    throw badUserInput(
      'table must start with a lower-case letter and hold only a-z, 0-9 and _ (at most 63 characters).',
      'input.table',
    );
  const name = textArg(input.fileName, 'input.fileName', MAX_FILE_NAME_CHARS);
  if (UNSAFE_NAME_CHARS.test(name) || /[/\\]/.test(name))
    throw badUserInput(
      'fileName must not contain control, format (e.g. bidirectional or zero-width), private-use or line-separator ' +
        'characters, nor path separators.',
      'input.fileName',
    );
  if (!Number.isInteger(input.sizeBytes) || input.sizeBytes < 1 || input.sizeBytes > limits.maxBytes)
    throw badUserInput(`sizeBytes must be between 1 and ${limits.maxBytes} bytes.`, 'input.sizeBytes');
  const maxBad = input.maxBadRecords ?? 0;
  if (!Number.isInteger(maxBad) || maxBad < 0 || maxBad > MAX_BAD_RECORDS)
    throw badUserInput(`maxBadRecords must be between 0 and ${MAX_BAD_RECORDS}.`, 'input.maxBadRecords');
}

/** What the upload operations need. */
export type UploadDeps = {
  records: LakeRecords;
  store: ObjectStore;
  limits: UploadLimits;
  /** Asks the run watcher for a cycle now (a run was recorded). */
  kick(): void;
  /** Throws UPSTREAM_UNAVAILABLE when the orchestrator cannot take a run now. */
  orchestratorReady(): Promise<void>;
};

/** The ticket `createUpload` returns. */
export type UploadTicket = { upload: Upload; url: string; headers: Record<string, string>; expiresAt: Date };

/** The upload operations of one tenant. */
export function createUploads(tenant: TenantContext, deps: UploadDeps) {
  const { records, store, limits } = deps;
  return {
    /**
     * See `Mutation.createUpload`.
     * @throws BAD_USER_INPUT, RATE_LIMITED (too many uploads in progress or waiting for their file:
     *   {@link uploadRefusal}); nothing is stored then.
     */
    async create(input: CreateUploadInput): Promise<UploadTicket> {
      checkUploadInput(input, limits);
      const id = randomUUID();
      const objectKey = bronzeKey(tenant.orgId, input.table, id, storedFileName(input.fileName, input.format));
      const contentType = CONTENT_TYPES[input.format];
      const expiresAt = new Date(Date.now() + limits.urlTtlSeconds * 1000);
      const stored = await records.createUpload(
        {
          id,
          table: input.table,
          fileName: input.fileName.trim(),
          objectKey,
          format: input.format,
          mode: input.mode ?? 'OVERWRITE',
          sizeBytes: input.sizeBytes,
          contentType,
          maxBadRecords: input.maxBadRecords ?? 0,
          expiresAt,
        },
        (open) => uploadRefusal(open, limits),
      );
      if ('refused' in stored) throw stored.refused;
      // The client's PUT lands beside the upload's key; completeUpload moves it (see incomingKey).
      const signed = await store.presignPut(incomingKey(objectKey), {
        sizeBytes: input.sizeBytes,
        contentType,
        expiresInSeconds: limits.urlTtlSeconds,
      });
      return { upload: stored.upload, url: signed.url, headers: signed.headers, expiresAt };
    },

    /** See `Mutation.completeUpload`. @throws NOT_FOUND, BAD_USER_INPUT (no object yet), UPSTREAM_* (store down). */
    async complete(id: string): Promise<Upload> {
      const upload = await records.getUpload(id);
      if (!upload) throw notFound('Upload');
      if (upload.status !== 'PENDING') return upload;
      // The file is either still where the client put it, or already moved by an earlier call that stopped before
      // recording it.
      const incoming = incomingKey(upload.objectKey);
      const atIncoming = await store.head(incoming);
      const head = atIncoming ?? (await store.head(upload.objectKey));
      if (!head) {
        if (upload.expiresAt.getTime() < Date.now())
          return (
            (await records.failUpload(id, {
              code: 'UPLOAD_EXPIRED',
              message: 'The upload URL expired before the file arrived; create a new upload.',
            })) ?? (await records.getUpload(id))!
          );
        throw badUserInput(
          "The file has not been uploaded yet: PUT it to the ticket's url with its headers, then complete the upload.",
          'id',
        );
      }
      if (head.size !== upload.sizeBytes)
        return (
          (await records.failUpload(id, {
            code: 'SIZE_MISMATCH',
            message: `The stored file has ${head.size} bytes but ${upload.sizeBytes} were announced; upload it again.`,
          })) ?? (await records.getUpload(id))!
        );
      if (atIncoming) {
        await store.copy(incoming, upload.objectKey);
        await store.delete(incoming);
      }
      const done = await records.completeUpload(id, {
        id: upload.id,
        uploadId: upload.id,
        table: upload.table,
        mode: upload.mode,
        reason: 'UPLOAD',
        dagId: INGEST_DAG_ID,
        dagRunId: dagRunIdFor(upload.id),
      });
      deps.kick();
      return done?.upload ?? (await records.getUpload(id))!;
    },

    /**
     * See `Mutation.reloadTable`: replays the table's LOADED uploads from the latest OVERWRITE one (or the first) on,
     * as one chain of runs — that upload in OVERWRITE mode, then each later one in APPEND mode, in completion order.
     * @returns the chain's runs, in order (the last one's SUCCESS means the table is rebuilt).
     * @throws BAD_USER_INPUT (not a table name, or more than MAX_RELOAD_UPLOADS to replay), NOT_FOUND (no loaded
     *   upload of that table), CONFLICT (a run of the table is in progress), UPSTREAM_UNAVAILABLE (the orchestrator
     *   cannot take runs now). Nothing is recorded on any of them.
     */
    async reload(table: string): Promise<PipelineRun[]> {
      if (!isTableName(table)) throw badUserInput('name must be a table name (^[a-z][a-z0-9_]{0,62}$).', 'name');
      const loaded = await records.loadedUploadsOf(table, MAX_RELOAD_UPLOADS + 1);
      if (!loaded.length) throw notFound(`A loaded upload of table ${JSON.stringify(table)}`);
      const base = Math.max(0, loaded.map((u) => u.mode).lastIndexOf('OVERWRITE'));
      const replay = loaded.slice(base);
      if (replay.length > MAX_RELOAD_UPLOADS)
        throw badUserInput(`The table has more than ${MAX_RELOAD_UPLOADS} uploads to replay.`, 'name');
      await deps.orchestratorReady();
      const chainId = randomUUID();
      const runs = await records.createReloadChain(
        table,
        replay.map((u, step): NewRun => {
          const runId = randomUUID();
          return {
            id: runId,
            uploadId: u.id,
            table,
            mode: step === 0 ? 'OVERWRITE' : 'APPEND',
            reason: 'RELOAD',
            dagId: INGEST_DAG_ID,
            dagRunId: dagRunIdFor(runId),
            chainId,
            chainStep: step,
          };
        }),
      );
      if (!runs)
        throw new DataPilotError(
          'CONFLICT',
          `Table ${JSON.stringify(table)} has a run in progress (an upload or another reload); reload when it is done.`,
        );
      deps.kick();
      return runs;
    },
  };
}
