/**
 * Test support of the graph subgraph: a real Neo4j 5.26 with APOC (the one from NEO4J_URI, which
 * test/global-setup.ts starts for the whole run, or, when that is unset, one started here on a free port in a temp
 * dir), access tokens signed with a local Ed25519 key pair, a GraphQL client, a driver that records the Cypher
 * @neo4j/graphql runs, and writers of catalog data in the shape the pipeline's publish task writes
 * (orchestration/dags/datapilot_pipeline/publish.py), which is the only writer outside tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import neo4j, { type Driver } from 'neo4j-driver';
import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@datapilot/common';
import { ensureNeo4jInstalled, startNeo4j } from '../../../infra/neo4j/index.ts';

/** A driver on the test Neo4j; `close()` closes it and stops the server if this module started one. */
export async function connectNeo4j(): Promise<{ driver: Driver; close(): Promise<void> }> {
  let uri = process.env.NEO4J_URI;
  let password = process.env.NEO4J_PASSWORD ?? 'datapilot-dev';
  let stop = async () => undefined as void;
  if (!uri) {
    await ensureNeo4jInstalled();
    const tmp = mkdtempSync(path.join(tmpdir(), 'graph-test-'));
    password = 'graph-test-password';
    const neo = await startNeo4j({ port: 0, dataDir: tmp, password, log: () => undefined });
    uri = neo.uri;
    stop = async () => {
      await neo.stop();
      rmSync(tmp, { recursive: true, force: true });
    };
  }
  const driver = neo4j.driver(uri, neo4j.auth.basic(process.env.NEO4J_USER ?? 'neo4j', password));
  return {
    driver,
    async close() {
      await driver.close();
      await stop();
    },
  };
}

/** Claims of a test token: `org` (UUID), the role (default ANALYST) and an optional expiry (seconds since the epoch). */
export type Claims = { org: string; role?: 'OWNER' | 'ADMIN' | 'ANALYST' | 'VIEWER'; expSec?: number };

/**
 * A fresh Ed25519 key pair and a function that signs access tokens with it (issuer and audience as the auth subgraph
 * sets them, issued an hour ago, valid 10 minutes unless `expSec` says otherwise; role ANALYST unless `role` says
 * otherwise, which `tokenRoleOnly` takes as the member's current role).
 */
export async function createTokenSigner(): Promise<{ publicKey: CryptoKey; token(c: Claims): Promise<string> }> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA');
  return {
    publicKey,
    token({ org, role, expSec }) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ org, role: role ?? 'ANALYST', sid: randomUUID() })
        .setProtectedHeader({ alg: 'EdDSA' })
        .setSubject(randomUUID())
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt(now - 3600)
        .setExpirationTime(expSec ?? now + 600)
        .sign(privateKey);
    },
  };
}

/** HTTP status and JSON body of a GraphQL response. */
export type GqlResult = {
  status: number;
  body: {
    data?: Record<string, any> | null;
    errors?: { message: string; extensions?: { code?: string; field?: string } }[];
  };
};

/** POSTs `query` (with `variables`) to `<url>/graphql`, with `Authorization: Bearer <token>` when a token is given. */
export async function postGraphql(
  url: string,
  query: string,
  token?: string,
  variables?: Record<string, unknown>,
): Promise<GqlResult> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as GqlResult['body'] };
}

/** The `extensions.code` of each error of a response. */
export const codes = (r: GqlResult) => (r.body.errors ?? []).map((e) => e.extensions?.code);

/** One statement @neo4j/graphql ran, with its parameters. */
export type SeenQuery = { query: string; params: Record<string, any> };

/** A driver-like wrapper that records every Cypher statement @neo4j/graphql runs (its Executor duck-types drivers). */
export function recordingDriver(real: Driver, seen: SeenQuery[]): Driver {
  type Tx = { run(q: string, p: Record<string, any>): unknown };
  const wrap = (tx: Tx): Tx => ({
    run: (q, p) => {
      seen.push({ query: q, params: p });
      return tx.run(q, p);
    },
  });
  return {
    executeQueryBookmarkManager: real.executeQueryBookmarkManager,
    session: (cfg: object) => {
      const s = real.session(cfg);
      return {
        executeRead: (work: (tx: Tx) => unknown, c: object) => s.executeRead((tx) => work(wrap(tx)), c),
        executeWrite: (work: (tx: Tx) => unknown, c: object) => s.executeWrite((tx) => work(wrap(tx)), c),
        close: () => s.close(),
      };
    },
  } as unknown as Driver;
}

/** One column of a gold table, as the pipeline reads it from the Delta schema. */
export type DatasetColumnInput = { name: string; type: string; nullable: boolean };

/** The catalog entry of one gold table. */
export type DatasetInput = {
  /** Table name, ^[a-z][a-z0-9_]{0,62}$. */
  name: string;
  /** Rows at `deltaVersion`. */
  rowCount: number;
  /** Delta table version the entry describes. */
  deltaVersion: number;
  /** Columns in table order. */
  columns: readonly DatasetColumnInput[];
  /** When the gold table was written; default: now. */
  updatedAt?: Date;
};

/**
 * Writes `:Dataset` nodes of `orgId` as the publish task does: MERGEd on `(orgId, name)`, integers as Neo4j
 * INTEGER, columns as three parallel lists, `updatedAt` a DATETIME (UTC).
 * @returns how many nodes were written.
 */
export async function upsertDatasets(
  driver: Driver,
  orgId: string,
  datasets: readonly DatasetInput[],
): Promise<number> {
  const now = new Date();
  const rows = datasets.map((d) => ({
    name: d.name,
    rowCount: neo4j.int(d.rowCount),
    deltaVersion: neo4j.int(d.deltaVersion),
    columnNames: d.columns.map((c) => c.name),
    columnTypes: d.columns.map((c) => c.type),
    columnNullable: d.columns.map((c) => c.nullable),
    updatedAt: (d.updatedAt ?? now).toISOString(),
  }));
  const { records } = await driver.executeQuery(
    `UNWIND $rows AS row
     MERGE (d:Dataset {orgId: $orgId, name: row.name})
     SET d.rowCount = row.rowCount,
         d.deltaVersion = row.deltaVersion,
         d.columnNames = row.columnNames,
         d.columnTypes = row.columnTypes,
         d.columnNullable = row.columnNullable,
         d.updatedAt = datetime(row.updatedAt)
     RETURN count(d) AS written`,
    { orgId, rows },
  );
  return (records[0]?.get('written') as { toNumber(): number }).toNumber();
}

/** An `(:Upload)` as the publish task writes it. */
export type UploadInput = {
  /** Lower-case UUID. */
  id: string;
  table: string;
  fileName: string;
  format: 'CSV' | 'JSON' | 'NDJSON' | 'PARQUET';
  mode: 'OVERWRITE' | 'APPEND';
};

/** A `(:PipelineRun)` as the publish task writes it. */
export type RunInput = {
  /** Lower-case UUID. */
  id: string;
  dagRunId: string;
  mode: 'OVERWRITE' | 'APPEND';
  /** ISO-8601 instant, stored as a DATETIME. */
  finishedAt: string;
};

/** One published run: its upload, the run, the dataset it wrote (by name, in the same org) and the version. */
export type LineageInput = { upload: UploadInput; run: RunInput; dataset: string; deltaVersion: number };

/**
 * Writes the lineage of one run of `orgId` as the publish task does, with plain Cypher:
 * `(:Upload {orgId, id, table, fileName, format, mode})-[:LOADED_BY]->(:PipelineRun {orgId, id, dagRunId, mode,
 * finishedAt})-[:PRODUCED {deltaVersion}]->(:Dataset {orgId, name})`, nodes MERGEd on `(orgId, id)` / `(orgId,
 * name)`, `finishedAt` a DATETIME and `deltaVersion` an INTEGER. The Dataset must exist (see {@link upsertDatasets}).
 * @throws Error when the Dataset does not exist.
 */
export async function publishLineage(driver: Driver, orgId: string, l: LineageInput): Promise<void> {
  const { records } = await driver.executeQuery(
    `MATCH (d:Dataset {orgId: $orgId, name: $dataset})
     MERGE (u:Upload {orgId: $orgId, id: $upload.id})
     SET u.table = $upload.table, u.fileName = $upload.fileName, u.format = $upload.format, u.mode = $upload.mode
     MERGE (r:PipelineRun {orgId: $orgId, id: $run.id})
     SET r.dagRunId = $run.dagRunId, r.mode = $run.mode, r.finishedAt = datetime($run.finishedAt)
     MERGE (u)-[:LOADED_BY]->(r)
     MERGE (r)-[p:PRODUCED]->(d)
     SET p.deltaVersion = $deltaVersion
     RETURN count(*) AS written`,
    { orgId, dataset: l.dataset, upload: l.upload, run: l.run, deltaVersion: neo4j.int(l.deltaVersion) },
  );
  if ((records[0]?.get('written') as { toNumber(): number }).toNumber() !== 1)
    throw new Error(`publishLineage: no dataset ${l.dataset} in org ${orgId}`);
}

/**
 * What the pipeline's profiling step records of one column (orchestration/dags/datapilot_pipeline/profile.py); properties left out are not
 * written (the column reads as not profiled in them).
 */
export type ColumnProfileInput = {
  name: string;
  description?: string;
  semanticType?: 'TIME' | 'CATEGORY' | 'MEASURE' | 'IDENTIFIER' | 'GEO_CODE' | 'TEXT';
  unit?: string;
  synonyms?: string[];
  sampleValues?: string[];
  valuesComplete?: boolean;
  aliasNames?: string[];
  aliasValues?: string[];
  geoKind?: string;
  distinctCount?: number;
  nullCount?: number;
  minValue?: string;
  maxValue?: string;
  isKey?: boolean;
  edited?: string[];
};

/**
 * Writes the `(:Column)` nodes of `dataset` (which must exist, see {@link upsertDatasets}) as the pipeline's profiling
 * step does: MERGEd on `(orgId, dataset, name)`, `position`, `type` and `nullable` from the dataset's columns, counts
 * as Neo4j INTEGER, the version profiled in `deltaVersion`, with the `(:Dataset)-[:HAS_COLUMN]->` edge.
 * @throws Error when a profile names a column the dataset does not have.
 */
export async function writeColumnProfiles(
  driver: Driver,
  orgId: string,
  dataset: DatasetInput,
  profiles: readonly ColumnProfileInput[],
): Promise<void> {
  const rows = profiles.map((p) => {
    const position = dataset.columns.findIndex((c) => c.name === p.name);
    if (position < 0) throw new Error(`writeColumnProfiles: ${dataset.name} has no column ${p.name}`);
    const { name, distinctCount, nullCount, ...rest } = p;
    const col = dataset.columns[position]!;
    return {
      name,
      props: {
        ...rest,
        position: neo4j.int(position),
        type: col.type,
        nullable: col.nullable,
        deltaVersion: neo4j.int(dataset.deltaVersion),
        ...(distinctCount === undefined ? {} : { distinctCount: neo4j.int(distinctCount) }),
        ...(nullCount === undefined ? {} : { nullCount: neo4j.int(nullCount) }),
      },
    };
  });
  await driver.executeQuery(
    `MATCH (d:Dataset {orgId: $orgId, name: $dataset})
     UNWIND $rows AS row
     MERGE (c:Column {orgId: $orgId, dataset: $dataset, name: row.name})
     SET c += row.props
     MERGE (d)-[:HAS_COLUMN]->(c)`,
    { orgId, dataset: dataset.name, rows },
  );
}

/** A `(:Column)-[:REFERENCES]->(:Column)` edge as the pipeline (PROFILED) or an edit (DEFINED) writes it. */
export type ReferenceInput = {
  from: { dataset: string; column: string };
  to: { dataset: string; column: string };
  cardinality: 'MANY_TO_ONE' | 'ONE_TO_ONE';
  origin: 'PROFILED' | 'DEFINED';
  coverage: number | null;
};

/**
 * Writes REFERENCES edges between Column nodes of `fromOrg` and `toOrg` (the same organization, except in tests of
 * what a wrong edge across organizations would show).
 * @throws Error when an end does not exist.
 */
export async function writeReferences(
  driver: Driver,
  fromOrg: string,
  refs: readonly ReferenceInput[],
  toOrg = fromOrg,
): Promise<void> {
  for (const r of refs) {
    const { records } = await driver.executeQuery(
      `MATCH (a:Column {orgId: $fromOrg, dataset: $from.dataset, name: $from.column}),
             (k:Column {orgId: $toOrg, dataset: $to.dataset, name: $to.column})
       MERGE (a)-[e:REFERENCES]->(k)
       SET e.cardinality = $cardinality, e.origin = $origin, e.coverage = $coverage
       RETURN count(e) AS n`,
      { fromOrg, toOrg, ...r },
    );
    if ((records[0]?.get('n') as { toNumber(): number }).toNumber() !== 1)
      throw new Error(
        `writeReferences: no column ${r.from.dataset}.${r.from.column} or ${r.to.dataset}.${r.to.column}`,
      );
  }
}

/** Deletes every node (and its relationships) of these organizations. */
export async function deleteOrgs(driver: Driver, orgs: readonly string[]): Promise<void> {
  await driver.executeQuery('MATCH (n) WHERE n.orgId IN $orgs DETACH DELETE n', { orgs: [...orgs] });
}
