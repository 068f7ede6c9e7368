// infra/spark against the real thing: a Spark Connect server started on a free port, the demo pipeline run
// through it into a temporary lake, row counts checked against the source files (counted here, in Node).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { freePort } from '../../net.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SparkInfraError,
  deltaJarsToPass,
  ensureSparkInstalled,
  isPortOpen,
  jarArtifact,
  sparkConnectConf,
  startSparkConnect,
  type RunningSparkConnect,
} from '../index.ts';
import { runDemoPipeline } from '../pipeline.ts';
import { REPO_ROOT } from '../paths.ts';

const DATA = path.join(REPO_ROOT, 'node_modules', 'vega-datasets', 'data');
const ORG = '9b8a7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d';
const DEMO: Array<[string, string]> = [
  ['seattle_weather', 'seattle-weather.csv'],
  ['stocks', 'stocks.csv'],
  ['cars', 'cars.json'],
  ['penguins', 'penguins.json'],
  ['gapminder', 'gapminder.json'],
  ['unemployment_across_industries', 'unemployment-across-industries.json'],
  ['flights', 'flights-20k.json'],
  ['airports', 'airports.csv'],
];
const lines: string[] = [];
const log = (l: string) => void lines.push(l);

/** Records in a demo file: JSON array length, or CSV lines after the header (these files have no quoted newlines). */
function sourceCount(file: string): number {
  const text = readFileSync(path.join(DATA, file), 'utf8');
  if (file.endsWith('.json')) return (JSON.parse(text) as unknown[]).length;
  return text.split('\n').filter((l) => l.trim() !== '').length - 1;
}

describe('jars and confs (no Spark process)', () => {
  it('reads the artifact name off a jar file name', () => {
    expect(jarArtifact('delta-spark_4.1_2.13-4.4.0.jar')).toBe('delta-spark_4.1_2.13');
    expect(jarArtifact('zstd-jni-1.5.7-3.jar')).toBe('zstd-jni');
    expect(jarArtifact('log4j-slf4j2-impl-2.25.3.jar')).toBe('log4j-slf4j2-impl');
    expect(jarArtifact('no-version.jar')).toBeUndefined();
  });

  it('passes to Spark only the jars pyspark lacks', () => {
    const names = deltaJarsToPass().map((j) => jarArtifact(path.basename(j)));
    expect(names).toEqual([
      'commons-logging',
      'delta-kernel-api',
      'delta-kernel-defaults',
      'delta-kernel-unitycatalog',
      'delta-spark_4.1_2.13',
      'delta-storage',
      'jackson-datatype-jdk8',
      'javax.annotation-api',
      'shims',
      'unitycatalog-client',
      'unitycatalog-hadoop',
    ]);
  });

  it('starts servers with UTC, deletion vectors off and state under the state dir', () => {
    const conf = sparkConnectConf(15099, '/x/state', '/x/lake');
    expect(conf['spark.databricks.delta.properties.defaults.enableDeletionVectors']).toBe('false');
    expect(conf['spark.sql.session.timeZone']).toBe('UTC');
    expect(conf['spark.connect.grpc.binding.address']).toBe('127.0.0.1');
    expect(conf['spark.connect.grpc.binding.port']).toBe('15099');
    expect(conf['spark.sql.warehouse.dir']).toBe('/x/state/warehouse');
  });
});

describe('a real Spark Connect server', () => {
  let server: RunningSparkConnect;
  let lake: string;

  beforeAll(async () => {
    const installed = await ensureSparkInstalled(log);
    expect(installed.pysparkVersion).toBe('4.1.4');
    lake = await mkdtemp(path.join(tmpdir(), 'dp-spark-lake-'));
    server = await startSparkConnect({ port: await freePort(), lakeRoot: lake, log });
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
    if (server) expect(await isPortOpen(server.port)).toBe(false);
    if (server)
      expect(existsSync(path.join(REPO_ROOT, '.local', 'spark', `connect-${server.port}`, 'tmp'))).toBe(false);
    if (lake) await rm(lake, { recursive: true, force: true });
  }, 60_000);

  it('is ready: the port accepts connections and the remote names it', async () => {
    expect(server.remote).toBe(`sc://127.0.0.1:${server.port}`);
    expect(await isPortOpen(server.port)).toBe(true);
    expect(readFileSync(server.logFile, 'utf8')).toContain(`Spark Connect server started at: 127.0.0.1:${server.port}`);
    expect(lines.some((l) => l.startsWith(`Spark Connect ready on ${server.remote}`))).toBe(true);
  });

  it('refuses a second server on the same port', async () => {
    const err = await startSparkConnect({ port: server.port, lakeRoot: lake, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SparkInfraError);
    expect((err as SparkInfraError).code).toBe('PORT_IN_USE');
  });

  it('loads the demo org: 8 tables with the source files’ row counts', async () => {
    const results = await runDemoPipeline({ remote: server.remote, lakeRoot: lake, orgId: ORG, log });
    expect(results.map((r) => [r.table, r.rows, r.version])).toEqual(DEMO.map(([t, f]) => [t, sourceCount(f), 0]));
    for (const r of results) {
      expect(r.path).toBe(path.join(lake, 'gold', `org=${ORG}`, r.table));
      expect(readdirSync(path.join(r.path, '_delta_log'))).toContain('00000000000000000000.json');
    }
    const flights = results.find((r) => r.table === 'flights');
    expect(flights?.columns).toEqual([
      { name: 'date', type: 'timestamp', nullable: true },
      { name: 'delay', type: 'bigint', nullable: true },
      { name: 'distance', type: 'bigint', nullable: true },
      { name: 'origin', type: 'string', nullable: true },
      { name: 'destination', type: 'string', nullable: true },
    ]);
    expect(lines.some((l) => l.startsWith('pipeline: table loaded table=airports rows=3376'))).toBe(true);
  }, 300_000);

  it('reports a bad org as BAD_INPUT, writing nothing', async () => {
    const err = await runDemoPipeline({ remote: server.remote, lakeRoot: lake, orgId: 'nope', log }).catch(
      (e: unknown) => e,
    );
    expect((err as SparkInfraError).code).toBe('BAD_INPUT');
    expect((err as Error).message).toContain('org must be a UUID');
    expect(readdirSync(path.join(lake, 'bronze'))).toEqual([`org=${ORG}`]);
  }, 60_000);
});

describe('start failures', () => {
  it('reports a server that exits at once as START_FAILED with its log', async () => {
    const lake = await mkdtemp(path.join(tmpdir(), 'dp-spark-bad-'));
    const err = await startSparkConnect({ port: await freePort(), lakeRoot: lake, log, driverMemory: 'lots' }).catch(
      (e: unknown) => e,
    );
    expect((err as SparkInfraError).code).toBe('START_FAILED');
    expect((err as SparkInfraError).logFile).toMatch(/spark-connect-\d+\.log$/);
    await rm(lake, { recursive: true, force: true });
  }, 120_000);

  it('stops a server that is not ready in time and says START_TIMEOUT', async () => {
    const lake = await mkdtemp(path.join(tmpdir(), 'dp-spark-slow-'));
    const port = await freePort();
    const err = await startSparkConnect({ port, lakeRoot: lake, log, readyTimeoutMs: 300 }).catch((e: unknown) => e);
    expect((err as SparkInfraError).code).toBe('START_TIMEOUT');
    expect(await isPortOpen(port)).toBe(false);
    await rm(lake, { recursive: true, force: true });
  }, 120_000);
});
