/**
 * Loads the demo organization through the same path any organization uses: the demo user signs in at the gateway,
 * announces each vega-datasets file with `createUpload`, PUTs it to the presigned URL, calls `completeUpload`, and
 * the lake subgraph runs one `datapilot_ingest` DAG run per table on Airflow. Nothing here touches a store directly.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEMO_SEMANTICS } from './demo-semantics.ts';
import type { Log } from './processes.ts';

/** The demo tables: gold table name, vega-datasets file, upload format. */
export const DEMO_TABLES: readonly { table: string; file: string; format: 'CSV' | 'JSON' }[] = [
  { table: 'seattle_weather', file: 'seattle-weather.csv', format: 'CSV' },
  { table: 'stocks', file: 'stocks.csv', format: 'CSV' },
  { table: 'cars', file: 'cars.json', format: 'JSON' },
  { table: 'penguins', file: 'penguins.json', format: 'JSON' },
  { table: 'gapminder', file: 'gapminder.json', format: 'JSON' },
  { table: 'unemployment_across_industries', file: 'unemployment-across-industries.json', format: 'JSON' },
  { table: 'flights', file: 'flights-20k.json', format: 'JSON' },
  { table: 'airports', file: 'airports.csv', format: 'CSV' },
];

type Gql = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;

/** A GraphQL client of the gateway with the demo user's token; a response with errors throws, naming them. */
function client(graphqlUrl: string, token?: string): Gql {
  return async <T>(query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await res.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
    if (body.errors?.length)
      throw new Error(body.errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; '));
    return body.data as T;
  };
}

/** True for failures worth another try: the service or a store was briefly unavailable, or the request timed out. */
const transient = (e: unknown) =>
  /UPSTREAM_UNAVAILABLE|UPSTREAM_TIMEOUT|fetch failed|ECONNRESET|TimeoutError|aborted/i.test(String(e));

/** `fn`, tried again after 1, 2, 4, 8 s when it fails with a {@link transient} error. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 4 || !transient(e)) throw e;
      await new Promise((r) => setTimeout(r, 1_000 * 2 ** attempt));
    }
  }
}

/** The demo tables the organization has in its lake already (by `lakeTables`). */
export async function loadedDemoTables(graphqlUrl: string, token: string): Promise<Set<string>> {
  const data = await client(graphqlUrl, token)<{ lakeTables: { name: string }[] }>('{ lakeTables { name } }');
  return new Set(data.lakeTables.map((t) => t.name));
}

/** Signs the demo user in at the gateway. @returns its access token. */
export async function signIn(graphqlUrl: string, email: string, password: string): Promise<string> {
  const data = await client(graphqlUrl)<{ login: { accessToken: string } }>(
    'mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
    { email, password },
  );
  return data.login.accessToken;
}

/**
 * Uploads every demo table the organization lacks and waits until each run ends (`timeoutMs`, default 15 minutes),
 * printing a line per finished run.
 * @returns the runs' outcome per table.
 * @throws Error naming the tables whose run failed (with the run's error) or did not end in time.
 */
export async function loadDemoOrganization(opts: {
  graphqlUrl: string;
  token: string;
  dataDir: string;
  log: Log;
  timeoutMs?: number;
}): Promise<{ table: string; state: string; ms: number }[]> {
  const call = client(opts.graphqlUrl, opts.token);
  const gql: Gql = (query, variables) => retrying(() => call(query, variables));
  const have = await loadedDemoTables(opts.graphqlUrl, opts.token);
  const todo = DEMO_TABLES.filter((t) => !have.has(t.table));
  if (!todo.length) return [];
  opts.log(`loading the demo organization: ${todo.length} vega-datasets files → createUpload + PUT → Airflow`);
  const started = Date.now();
  const runs = await Promise.all(
    todo.map(async ({ table, file, format }) => {
      const body = await readFile(path.join(opts.dataDir, file));
      const { createUpload } = await gql<{
        createUpload: { url: string; headers: Record<string, string>; upload: { id: string } };
      }>(`mutation($input: CreateUploadInput!) { createUpload(input: $input) { url headers upload { id } } }`, {
        input: { table, fileName: file, format, sizeBytes: body.length },
      });
      const put = await retrying(() =>
        fetch(createUpload.url, {
          method: 'PUT',
          headers: { 'Content-Type': createUpload.headers['Content-Type']! },
          body,
          signal: AbortSignal.timeout(120_000),
        }),
      );
      if (put.status !== 200) throw new Error(`upload of ${file} answered HTTP ${put.status}`);
      await gql(`mutation($id: ID!) { completeUpload(id: $id) { id } }`, { id: createUpload.upload.id });
      return { table, runId: createUpload.upload.id };
    }),
  );
  opts.log(`demo: ${runs.length} files uploaded; ${runs.length} pipeline runs on Airflow`);
  const deadline = started + (opts.timeoutMs ?? 15 * 60_000);
  const done = new Map<string, { table: string; state: string; ms: number }>();
  const failures: string[] = [];
  while (done.size < runs.length) {
    if (Date.now() > deadline) {
      const left = runs.filter((r) => !done.has(r.runId)).map((r) => r.table);
      throw new Error(`demo: runs did not end in time: ${left.join(', ')} (see Airflow's logs)`);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    for (const r of runs) {
      if (done.has(r.runId)) continue;
      const { pipelineRun } = await gql<{
        pipelineRun: { state: string; error: { code: string; message: string } | null };
      }>(`query($id: ID!) { pipelineRun(id: $id) { state error { code message } } }`, { id: r.runId });
      if (pipelineRun.state !== 'SUCCESS' && pipelineRun.state !== 'FAILED') continue;
      const ms = Date.now() - started;
      done.set(r.runId, { table: r.table, state: pipelineRun.state, ms });
      opts.log(`demo: ${r.table} ${pipelineRun.state} after ${(ms / 1000).toFixed(1)} s (${done.size}/${runs.length})`);
      if (pipelineRun.error) failures.push(`${r.table}: ${pipelineRun.error.code} ${pipelineRun.error.message}`);
    }
  }
  if (failures.length) throw new Error(`demo: runs failed:\n  ${failures.join('\n  ')}`);
  return [...done.values()];
}

/**
 * Writes the demo administrator's descriptions, units and synonyms (demo-semantics.ts) into the semantic layer of
 * `tables` through the public API (`updateDataset`, `updateColumn`: role ADMIN, which the demo user holds as the
 * organization's owner). Run after the tables' pipeline runs, which profiled them; a column a run did not profile
 * answers NOT_FOUND and is reported, not fatal.
 * @returns the number of columns written.
 */
export async function applyDemoSemantics(opts: {
  graphqlUrl: string;
  token: string;
  tables: readonly string[];
  log: Log;
}): Promise<number> {
  const call = client(opts.graphqlUrl, opts.token);
  const gql: Gql = (query, variables) => retrying(() => call(query, variables));
  let written = 0;
  for (const table of opts.tables) {
    const edits = DEMO_SEMANTICS[table];
    if (!edits) continue;
    try {
      await gql('mutation($n: String!, $d: String) { updateDataset(name: $n, description: $d) { name } }', {
        n: table,
        d: edits.description,
      });
      for (const [column, input] of Object.entries(edits.columns)) {
        await gql(
          'mutation($t: String!, $c: String!, $i: ColumnUpdateInput!) { updateColumn(dataset: $t, column: $c, input: $i) { name } }',
          { t: table, c: column, i: input },
        );
        written++;
      }
    } catch (e) {
      opts.log(`demo: could not describe ${table} in the semantic layer: ${(e as Error).message}`);
    }
  }
  return written;
}
