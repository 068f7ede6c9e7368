/**
 * Reads what the lake needs from a Delta table's transaction log on the object store, without Spark: the table's
 * current version and its schema. Rules from the Delta Lake protocol (PROTOCOL.md, "Delta Log Entries",
 * "Checkpoints", "Last Checkpoint File", "Schema Serialization Format"):
 * - commits are `_delta_log/<version, 20 digits>.json`, one JSON action per line; the table's version is the highest
 *   commit (or checkpoint) version;
 * - the schema is the `schemaString` of the newest `metaData` action: in the newest commit that has one, else in the
 *   newest checkpoint (`<version>.checkpoint.parquet`, or its parts `<version>.checkpoint.<part>.<parts>.parquet`);
 * - `_delta_log/_last_checkpoint` (JSON `{ "version": n, ... }`) points at the newest checkpoint and lets a listing
 *   start there instead of at version 0.
 */
import { parquetReadObjects } from 'hyparquet';
import type { ColumnInfo } from './arrow-values.ts';
import { simpleTypeName } from './arrow-values.ts';
import type { ObjectStore } from './object-store.ts';

/** A Delta table's state as the log says: its version and its top-level columns (Spark SQL type names). */
export type DeltaSnapshot = { version: number; columns: ColumnInfo[] };

/**
 * The row count of a Delta table's version from its log: the sum of `numRecords` of the `stats` of its active files
 * (minus each file's deletion-vector `cardinality`), or null when an active file has no `numRecords` (the writer
 * collected no statistics: then only a scan counts it).
 */
export type DeltaRowCount = { version: number; numRecords: number | null };

const COMMIT = /^(\d{20})\.json$/;
const CHECKPOINT = /^(\d{20})\.checkpoint(?:\.(\d{10})\.(\d{10}))?\.parquet$/;
const pad = (v: number) => String(v).padStart(20, '0');

/** Largest commit or checkpoint file read, in bytes. */
const MAX_LOG_FILE_BYTES = 64 << 20;
/** How many commits are read backwards for a `metaData` action before the checkpoint is consulted. */
const MAX_COMMITS_SCANNED = 100;
/** Most commits after the checkpoint replayed for a row count; beyond, the count is null (Spark counts). */
const MAX_COMMITS_REPLAYED = 1_000;

/** A Delta schema type (PROTOCOL.md "Schema Serialization Format"): a primitive name or a nested object. */
type DeltaType =
  | string
  | { type: 'array'; elementType: DeltaType }
  | { type: 'map'; keyType: DeltaType; valueType: DeltaType }
  | { type: 'struct'; fields: DeltaField[] };
type DeltaField = { name: string; type: DeltaType; nullable?: boolean };

/**
 * The Spark SQL name (Spark's `simpleString`, as `DESCRIBE` prints it) of a Delta schema type: `long` → `bigint`,
 * `integer` → `int`, `decimal(10,2)` stays, `{type: array, elementType: string}` → `array<string>`, structs →
 * `struct<name:type,...>`.
 */
export function deltaTypeName(t: DeltaType): string {
  if (typeof t === 'string') return /^decimal\(/.test(t) ? t.replace(/\s+/g, '') : simpleTypeName(t);
  switch (t.type) {
    case 'array':
      return `array<${deltaTypeName(t.elementType)}>`;
    case 'map':
      return `map<${deltaTypeName(t.keyType)},${deltaTypeName(t.valueType)}>`;
    case 'struct':
      return `struct<${t.fields.map((f) => `${f.name}:${deltaTypeName(f.type)}`).join(',')}>`;
    default:
      return 'unknown';
  }
}

/** The columns of a Delta `schemaString` (a JSON struct type). @throws Error when it is not one. */
export function parseSchemaString(schemaString: string): ColumnInfo[] {
  const schema = JSON.parse(schemaString) as { type?: string; fields?: DeltaField[] };
  if (schema?.type !== 'struct' || !Array.isArray(schema.fields)) throw new Error('schemaString is not a struct');
  return schema.fields.map((f) => ({ name: f.name, type: deltaTypeName(f.type), nullable: f.nullable !== false }));
}

/** Reads Delta logs through an {@link ObjectStore}; see {@link DeltaLogReader.snapshot}. */
export interface DeltaLogReader {
  /**
   * The version and columns of the Delta table under `tablePrefix` (e.g. `gold/org=<id>/cars/`), or undefined when
   * there is no commit or checkpoint under `<tablePrefix>_delta_log/` (not a Delta table, or not yet written).
   * @throws DataPilotError UPSTREAM_UNAVAILABLE / UPSTREAM_TIMEOUT when the store fails; Error when the log is corrupt.
   */
  snapshot(tablePrefix: string): Promise<DeltaSnapshot | undefined>;
  /** Only the version (one or two listings, no commit is read), or undefined as for {@link snapshot}. */
  version(tablePrefix: string): Promise<number | undefined>;
  /**
   * The table's current version and its row count from the log alone (PROTOCOL.md "Per-file Statistics",
   * "Action Reconciliation"): the active files are the checkpoint's `add` actions, then each later commit's `add`
   * (a path added, or re-added) and `remove` (a path gone), in version order; the count is the sum of their
   * `stats.numRecords` minus `deletionVector.cardinality`. Null `numRecords` when a file lacks statistics or more than
   * 1 000 commits follow the checkpoint. Cached per table and version (a version's files never change): a repeated
   * call costs the version's listing only, and none when `knownVersion` (the version a listing just found) is cached.
   * Undefined when there is no table (as {@link snapshot}).
   * @throws as {@link snapshot}.
   */
  rowCount(tablePrefix: string, knownVersion?: number): Promise<DeltaRowCount | undefined>;
  /**
   * Whether the table has moved on from `version` (cheap: one listing of the log from that commit on, using no
   * `_last_checkpoint`): true when a later commit exists or the commit `version` itself is gone (table deleted or
   * replaced). For keys of caches that must not serve a result of an older version.
   * @throws as {@link snapshot}.
   */
  changedSince(tablePrefix: string, version: number): Promise<boolean>;
}

/**
 * Creates a reader. Schemas are cached per table prefix and version (a version's schema never changes), at most
 * `cacheSize` entries (default 1 000), so a listing of unchanged tables costs only the log listings.
 */
export function createDeltaLogReader(store: ObjectStore, opts: { cacheSize?: number } = {}): DeltaLogReader {
  const cacheSize = opts.cacheSize ?? 1_000;
  const schemas = new Map<string, ColumnInfo[]>();
  const counts = new Map<string, number | null>();
  const remember = <V>(map: Map<string, V>, key: string, value: V) => {
    if (map.size >= cacheSize) map.delete(map.keys().next().value!);
    map.set(key, value);
  };

  /** Log files at or after the last checkpoint: commit versions and the newest checkpoint's part keys. */
  const listLog = async (tablePrefix: string) => {
    const log = `${tablePrefix}_delta_log/`;
    let startAfter: string | undefined;
    const hint = await store.get(`${log}_last_checkpoint`, { maxBytes: 1 << 20 });
    if (hint) {
      const v = Number((JSON.parse(new TextDecoder().decode(hint)) as { version?: unknown }).version);
      // List from just before the checkpoint's own files (their names start with its version).
      if (Number.isInteger(v) && v > 0) startAfter = `${log}${pad(v - 1)}.json`;
    }
    const commits: number[] = [];
    const checkpoints = new Map<number, string[]>();
    for (const { key } of await store.listObjects(log, { startAfter })) {
      const name = key.slice(log.length);
      const c = COMMIT.exec(name);
      if (c) commits.push(Number(c[1]));
      const k = CHECKPOINT.exec(name);
      if (k) checkpoints.set(Number(k[1]), [...(checkpoints.get(Number(k[1])) ?? []), key]);
    }
    const checkpoint = checkpoints.size ? Math.max(...checkpoints.keys()) : undefined;
    const version = Math.max(-1, ...commits, ...(checkpoint === undefined ? [] : [checkpoint]));
    return {
      log,
      commits,
      checkpoint,
      checkpointKeys: checkpoint === undefined ? [] : checkpoints.get(checkpoint)!,
      version,
    };
  };

  const readSchema = async (l: Awaited<ReturnType<typeof listLog>>): Promise<ColumnInfo[]> => {
    const newer = l.commits.filter((v) => l.checkpoint === undefined || v > l.checkpoint).sort((a, b) => b - a);
    for (const v of newer.slice(0, MAX_COMMITS_SCANNED)) {
      const bytes = await store.get(`${l.log}${pad(v)}.json`, { maxBytes: MAX_LOG_FILE_BYTES });
      if (!bytes) continue;
      for (const line of new TextDecoder().decode(bytes).split('\n')) {
        if (!line.includes('"metaData"')) continue;
        const action = JSON.parse(line) as { metaData?: { schemaString?: string } };
        if (action.metaData?.schemaString) return parseSchemaString(action.metaData.schemaString);
      }
    }
    for (const key of l.checkpointKeys) {
      const bytes = await store.get(key, { maxBytes: MAX_LOG_FILE_BYTES });
      if (!bytes) continue;
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const rows = (await parquetReadObjects({ file, columns: ['metaData'] })) as {
        metaData?: { schemaString?: string } | null;
      }[];
      const meta = rows.find((r) => r.metaData?.schemaString);
      if (meta) return parseSchemaString(meta.metaData!.schemaString!);
    }
    throw new Error(`no metaData action in ${l.log} at version ${l.version}`);
  };

  /** An `add` action's rows: its stats' `numRecords` less its deletion vector's cardinality; null without stats. */
  type AddAction = { path?: string; stats?: string | null; deletionVector?: { cardinality?: number | bigint } | null };
  const countOf = (add: AddAction): number | null => {
    if (!add.stats) return null;
    const n = (JSON.parse(add.stats) as { numRecords?: unknown }).numRecords;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) return null;
    return n - Number(add.deletionVector?.cardinality ?? 0);
  };

  const readRowCount = async (l: Awaited<ReturnType<typeof listLog>>): Promise<number | null> => {
    const files = new Map<string, number | null>();
    for (const key of l.checkpointKeys) {
      const bytes = await store.get(key, { maxBytes: MAX_LOG_FILE_BYTES });
      if (!bytes) throw new Error(`checkpoint ${key} vanished`);
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const rows = (await parquetReadObjects({ file, columns: ['add'] })) as { add?: AddAction | null }[];
      for (const { add } of rows) if (add?.path) files.set(add.path, countOf(add));
    }
    const after = l.commits.filter((v) => l.checkpoint === undefined || v > l.checkpoint).sort((a, b) => a - b);
    if (after.length > MAX_COMMITS_REPLAYED) return null;
    // A log without a checkpoint starts at commit 0; one whose early commits were cleaned up needs its checkpoint.
    if (l.checkpoint === undefined && after[0] !== 0) return null;
    for (const v of after) {
      const bytes = await store.get(`${l.log}${pad(v)}.json`, { maxBytes: MAX_LOG_FILE_BYTES });
      if (!bytes) throw new Error(`commit ${v} of ${l.log} vanished`);
      for (const line of new TextDecoder().decode(bytes).split('\n')) {
        if (!line.includes('"add"') && !line.includes('"remove"')) continue;
        const action = JSON.parse(line) as { add?: AddAction; remove?: { path?: string } };
        if (action.add?.path) files.set(action.add.path, countOf(action.add));
        else if (action.remove?.path) files.delete(action.remove.path);
      }
    }
    let total = 0;
    for (const n of files.values()) {
      if (n === null) return null;
      total += n;
    }
    return total;
  };

  return {
    async rowCount(tablePrefix, knownVersion) {
      const known = knownVersion === undefined ? undefined : counts.get(`${tablePrefix}@${knownVersion}`);
      if (known !== undefined) return { version: knownVersion!, numRecords: known };
      const l = await listLog(tablePrefix);
      if (l.version < 0) return undefined;
      const key = `${tablePrefix}@${l.version}`;
      if (!counts.has(key)) remember(counts, key, await readRowCount(l));
      return { version: l.version, numRecords: counts.get(key)! };
    },
    async changedSince(tablePrefix, version) {
      const log = `${tablePrefix}_delta_log/`;
      // `<v>.crc` sorts just before `<v>.json`, and checkpoints of v before both: the listing starts at commit v.
      const entries = await store.listObjects(log, { startAfter: `${log}${pad(version)}.crc`, limit: 1_000 });
      let found = false;
      for (const { key } of entries) {
        const c = COMMIT.exec(key.slice(log.length));
        if (!c) continue;
        if (Number(c[1]) > version) return true;
        if (Number(c[1]) === version) found = true;
      }
      return !found;
    },
    async version(tablePrefix) {
      const l = await listLog(tablePrefix);
      return l.version < 0 ? undefined : l.version;
    },
    async snapshot(tablePrefix) {
      const l = await listLog(tablePrefix);
      if (l.version < 0) return undefined;
      const cacheKey = `${tablePrefix}@${l.version}`;
      let columns = schemas.get(cacheKey);
      if (!columns) {
        columns = await readSchema(l);
        remember(schemas, cacheKey, columns);
      }
      return { version: l.version, columns };
    },
  };
}
