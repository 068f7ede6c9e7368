// infra/spark against the real thing: the jars it hands to Spark, and a Spark Connect server started on a free port.
// (Loading data through it is tested with the ingest pipeline: orchestration/tests, subgraphs/lake/test.)
import { existsSync, readFileSync } from 'node:fs';
import { freePort } from '../../net.ts';
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
import { REPO_ROOT } from '../paths.ts';

const lines: string[] = [];
const log = (l: string) => void lines.push(l);

describe('jars and confs (no Spark process)', () => {
  it('reads the artifact name off a jar file name', () => {
    expect(jarArtifact('delta-spark_4.1_2.13-4.4.0.jar')).toBe('delta-spark_4.1_2.13');
    expect(jarArtifact('zstd-jni-1.5.7-3.jar')).toBe('zstd-jni');
    expect(jarArtifact('log4j-slf4j2-impl-2.25.3.jar')).toBe('log4j-slf4j2-impl');
    expect(jarArtifact('no-version.jar')).toBeUndefined();
  });

  it('passes to Spark only the jars pyspark lacks', () => {
    const names = deltaJarsToPass().map((j) => jarArtifact(path.basename(j)));
    // Delta 4.4 and its dependencies pyspark lacks, then hadoop-aws and the AWS SDK v2 modules of infra/spark/pom.xml.
    const delta = [
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
    ];
    const s3a = [
      'hadoop-aws',
      'reactive-streams',
      'eventstream',
      ...['annotations', 'apache-client', 'arns', 'auth', 'aws-core', 'aws-query-protocol', 'aws-xml-protocol'],
      ...['checksums', 'checksums-spi', 'crt-core', 'endpoints-spi', 'http-auth', 'http-auth-aws'],
      ...['http-auth-aws-eventstream', 'http-auth-spi', 'http-client-spi', 'identity-spi', 'json-utils'],
      ...['metrics-spi', 'netty-nio-client', 'profiles', 'protocol-core', 'regions', 'retries', 'retries-spi'],
      ...['s3', 's3-transfer-manager', 'sdk-core', 'third-party-jackson-core', 'utils'],
    ];
    expect(names).toEqual([...delta, ...s3a].sort());
  });

  it('starts servers with UTC, deletion vectors off and state under the state dir', () => {
    const conf = sparkConnectConf(15099, '/x/state');
    expect(conf['spark.databricks.delta.properties.defaults.enableDeletionVectors']).toBe('false');
    expect(conf['spark.sql.session.timeZone']).toBe('UTC');
    expect(conf['spark.connect.grpc.binding.address']).toBe('127.0.0.1');
    expect(conf['spark.connect.grpc.binding.port']).toBe('15099');
    expect(conf['spark.sql.warehouse.dir']).toBe('/x/state/warehouse');
  });
});

describe('a real Spark Connect server', () => {
  let server: RunningSparkConnect;

  beforeAll(async () => {
    const installed = await ensureSparkInstalled(log);
    expect(installed.pysparkVersion).toBe('4.1.4');
    server = await startSparkConnect({ port: await freePort(), log });
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
    if (server) expect(await isPortOpen(server.port)).toBe(false);
    if (server)
      expect(existsSync(path.join(REPO_ROOT, '.local', 'spark', `connect-${server.port}`, 'tmp'))).toBe(false);
  }, 60_000);

  it('is ready: the port accepts connections and the remote names it', async () => {
    expect(server.remote).toBe(`sc://127.0.0.1:${server.port}`);
    expect(await isPortOpen(server.port)).toBe(true);
    expect(readFileSync(server.logFile, 'utf8')).toContain(`Spark Connect server started at: 127.0.0.1:${server.port}`);
    expect(lines.some((l) => l.startsWith(`Spark Connect ready on ${server.remote}`))).toBe(true);
  });

  it('refuses a second server on the same port', async () => {
    const err = await startSparkConnect({ port: server.port, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SparkInfraError);
    expect((err as SparkInfraError).code).toBe('PORT_IN_USE');
  });
});

describe('start failures', () => {
  it('reports a server that exits at once as START_FAILED with its log', async () => {
    const err = await startSparkConnect({ port: await freePort(), log, driverMemory: 'lots' }).catch((e: unknown) => e);
    expect((err as SparkInfraError).code).toBe('START_FAILED');
    expect((err as SparkInfraError).logFile).toMatch(/spark-connect-\d+\.log$/);
  }, 120_000);

  it('stops a server that is not ready in time and says START_TIMEOUT', async () => {
    const port = await freePort();
    const err = await startSparkConnect({ port, log, readyTimeoutMs: 300 }).catch((e: unknown) => e);
    expect((err as SparkInfraError).code).toBe('START_TIMEOUT');
    expect(await isPortOpen(port)).toBe(false);
  }, 120_000);
});
