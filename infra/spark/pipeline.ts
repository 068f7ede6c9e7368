/**
 * Runs the local pipeline (`orchestration/pipeline.py`) from Node with the venv's Python, and hands back its
 * per-table results (what the launcher turns into the graph's Dataset nodes).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SparkInfraError, defaultSparkLog, type SparkLog } from './errors.ts';
import { sparkPaths, REPO_ROOT } from './paths.ts';

/** One column of a gold table: its snake_case name, Spark SQL type name and nullability. */
export interface ColumnInfo {
  name: string;
  /** Spark's SQL name of the type: `bigint`, `double`, `string`, `date`, `timestamp`, `boolean`, ... */
  type: string;
  nullable: boolean;
}

/** What the pipeline reports for one table it wrote (one JSON line of its stdout). */
export interface TableResult {
  /** Gold table name (^[a-z][a-z0-9_]{0,62}$). */
  table: string;
  /** Rows written by this run. */
  rows: number;
  columns: ColumnInfo[];
  /** Delta version this run committed (0 on the first load, +1 per reload). */
  version: number;
  /** Absolute path of the Delta table, `<lakeRoot>/gold/org=<orgId>/<table>`. */
  path: string;
}

/** Options of {@link runDemoPipeline}. */
export interface DemoPipelineOptions {
  /** Spark Connect address, `sc://host:port`. */
  remote: string;
  /** Absolute lake root. */
  lakeRoot: string;
  /** The org to load into (UUID). */
  orgId: string;
  /** Folder with the vega-datasets files; default `<repo>/node_modules/vega-datasets/data`. */
  dataDir?: string;
  /** Progress lines; default stderr with a `[spark]` prefix. */
  log?: SparkLog;
  /** Milliseconds before the run is killed; default 600 000. */
  timeoutMs?: number;
  /** Checkout with the venv and scripts; default this one. */
  repoRoot?: string;
}

/** Parses one stdout line of the pipeline. @throws SparkInfraError PIPELINE_FAILED when it is not a result. */
export function parseTableResult(line: string): TableResult {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new SparkInfraError('PIPELINE_FAILED', `pipeline printed a line that is not JSON: ${line.slice(0, 200)}`);
  }
  const r = v as Partial<TableResult> | null;
  const ok =
    r !== null &&
    typeof r === 'object' &&
    typeof r.table === 'string' &&
    Number.isInteger(r.rows) &&
    Number.isInteger(r.version) &&
    typeof r.path === 'string' &&
    Array.isArray(r.columns) &&
    r.columns.every(
      (c) => typeof c?.name === 'string' && typeof c.type === 'string' && typeof c.nullable === 'boolean',
    );
  if (!ok) throw new SparkInfraError('PIPELINE_FAILED', `pipeline printed a malformed result: ${line.slice(0, 200)}`);
  return r as TableResult;
}

/**
 * A stderr line of the pipeline as a progress line (`pipeline: table loaded table=cars rows=406 ...`) and
 * whether it reports a problem (level warn/error, or not one of the pipeline's JSON lines: a traceback).
 */
function formatProgress(line: string): { text: string; problem: boolean } {
  try {
    const { time: _t, level, service: _s, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    const text = `pipeline${level === 'info' ? '' : ` ${String(level)}`}: ${String(msg)} ${extra.join(' ')}`;
    return { text: text.trimEnd(), problem: level !== 'info' && level !== 'debug' };
  } catch {
    return { text: `pipeline: ${line}`, problem: true };
  }
}

/**
 * Loads the demo org: runs `<venv python> orchestration/pipeline.py demo --remote … --lake-root … --org …
 * --data-dir …`, which copies the 8 demo files into `<lakeRoot>/bronze/org=<orgId>/<table>/` and writes each
 * gold Delta table with `bronze_to_gold`. Its progress lines go to `log`; resolves with one
 * {@link TableResult} per table, in the pipeline's order (seattle_weather, stocks, cars, penguins, gapminder,
 * unemployment_across_industries, flights, airports). Rerunning overwrites the tables (version + 1).
 * @throws SparkInfraError BAD_INPUT (bad org id or lake root; exit 2), PIPELINE_FAILED (non-zero exit, timeout or
 *   a malformed result line; the message has the pipeline's last error lines).
 */
export async function runDemoPipeline(opts: DemoPipelineOptions): Promise<TableResult[]> {
  const log = opts.log ?? defaultSparkLog;
  const p = sparkPaths(opts.repoRoot ?? REPO_ROOT);
  const dataDir = opts.dataDir ?? path.join(p.repoRoot, 'node_modules', 'vega-datasets', 'data');
  const args = [p.pipeline, 'demo', '--remote', opts.remote, '--lake-root', opts.lakeRoot, '--org', opts.orgId];
  const child = spawn(p.python, [...args, '--data-dir', dataDir], {
    cwd: p.repoRoot,
    env: { ...process.env, PYTHONUNBUFFERED: '1', SPARK_REMOTE: opts.remote },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const results: TableResult[] = [];
  const errors: string[] = [];
  let parseError: SparkInfraError | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.trim()) return;
    try {
      results.push(parseTableResult(line));
    } catch (e) {
      parseError ??= e as SparkInfraError;
    }
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (!line.trim()) return;
    const { text, problem } = formatProgress(line);
    if (problem) errors.push(text);
    if (errors.length > 30) errors.shift();
    log(text);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 600_000);
  const code = await new Promise<number>((resolve) => {
    child.once('error', (e) => {
      errors.push(`could not run ${p.python}: ${e.message} (run \`npx tsx infra/spark/cli.ts setup\`)`);
      resolve(-1);
    });
    child.once('close', (c) => resolve(c ?? -1));
  });
  clearTimeout(timer);
  const detail = errors.slice(-8).join('\n');
  if (code === 2) throw new SparkInfraError('BAD_INPUT', `pipeline rejected its input:\n${detail}`);
  if (timedOut)
    throw new SparkInfraError('PIPELINE_FAILED', `pipeline did not finish in ${opts.timeoutMs ?? 600_000} ms`);
  if (code !== 0) throw new SparkInfraError('PIPELINE_FAILED', `pipeline failed (exit ${code}):\n${detail}`);
  if (parseError) throw parseError;
  return results;
}
