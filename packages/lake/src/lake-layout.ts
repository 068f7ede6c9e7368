import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** Organization ids are lower-case UUIDs (the `org` claim of the access token). */
export const ORG_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Lake table names (the brief's layout rule): lower-case, start with a letter, at most 63 characters. */
export const TABLE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/** True when `name` is a valid lake table name ({@link TABLE_NAME_PATTERN}). */
export const isTableName = (name: string): boolean => TABLE_NAME_PATTERN.test(name);

/**
 * Checks that the lake root can be put inside a single-quoted Spark SQL string literal as is: an absolute
 * path without quotes, backticks, backslashes or control characters.
 * @throws Error naming the problem (configuration, checked at start).
 */
export function checkLakeRoot(lakeRoot: string): string {
  if (!path.isAbsolute(lakeRoot))
    throw new Error(`LAKE_ROOT must be an absolute path, got ${JSON.stringify(lakeRoot)}`);
  // eslint-disable-next-line no-control-regex
  if (/['"`\\\u0000-\u001f]/.test(lakeRoot))
    throw new Error('LAKE_ROOT must not contain quotes, backslashes or control characters');
  return lakeRoot.replace(/\/+$/, '') || '/';
}

/** `<lakeRoot>/gold/org=<orgId>`: the folder of an org's gold Delta tables. */
export function orgGoldDir(lakeRoot: string, orgId: string): string {
  if (!ORG_ID_PATTERN.test(orgId)) throw new Error('invalid org id');
  return path.join(lakeRoot, 'gold', `org=${orgId}`);
}

const COMMIT_FILE = /^(\d{20})\.json$/;
const CHECKPOINT_FILE = /^(\d{20})\.checkpoint(?:\.\d+\.\d+)?\.parquet$/;

/**
 * The Delta version of the table at `tableDir`: the highest `NNN.json` commit in `_delta_log`
 * (or checkpoint, when commits were cleaned up). Undefined when there is no `_delta_log` or no commit yet.
 */
export async function deltaVersion(tableDir: string): Promise<number | undefined> {
  let files: string[];
  try {
    files = await readdir(path.join(tableDir, '_delta_log'));
  } catch {
    return undefined;
  }
  let max: number | undefined;
  for (const f of files) {
    const m = COMMIT_FILE.exec(f) ?? CHECKPOINT_FILE.exec(f);
    if (m) max = Math.max(max ?? 0, Number(m[1]));
  }
  return max;
}

/**
 * The Delta tables of an org on disk: every sub-folder of `<lakeRoot>/gold/org=<orgId>` whose name is a valid
 * table name and which holds a `_delta_log` with at least one commit, with its Delta version. Folders with
 * other names are ignored (they can never be registered in Spark). An org without a folder has no tables.
 * @returns table name → Delta version, sorted by name.
 */
export async function scanOrgTables(lakeRoot: string, orgId: string): Promise<Map<string, number>> {
  const dir = orgGoldDir(lakeRoot, orgId);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw e;
  }
  const names = entries.filter((e) => e.isDirectory() && isTableName(e.name)).map((e) => e.name);
  const versions = await Promise.all(names.map((n) => deltaVersion(path.join(dir, n))));
  const out = new Map<string, number>();
  names.forEach((n, i) => {
    if (versions[i] !== undefined) out.set(n, versions[i]);
  });
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
