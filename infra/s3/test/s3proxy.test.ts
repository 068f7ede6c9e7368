// infra/s3 against the real S3Proxy: started on free ports with a temporary data folder; every expectation is a
// byte count, a status or a file's content stated here, never something the code under test computed.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, isPortOpen } from '../../net.ts';
import { REPO_ROOT } from '../../spark/paths.ts';
import {
  S3InfraError,
  ensureBucket,
  ensureS3ProxyInstalled,
  readOrCreateCredentials,
  s3ClientConfig,
  startS3Proxy,
  type RunningS3Proxy,
} from '../index.ts';

const quiet = () => undefined;
const BUCKET = 'lake-test';
let dir: string;
let dataDir: string;
let server: RunningS3Proxy;
let client: S3Client;

/** HTTP status of a failed SDK call (undefined when it did not fail with a service error). */
async function statusOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return 200;
  } catch (e) {
    return e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;
  }
}

/**
 * The local addresses of every listening TCP socket on `port`, from /proc/net/tcp and tcp6 (hex, little-endian
 * IPv4 words): `127.0.0.1` for `0100007F` and for the IPv4-mapped `0000000000000000FFFF00000100007F`.
 */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== '0A') continue; // 0A = LISTEN
      const [addr, p] = local.split(':');
      if (p !== hexPort || !addr) continue;
      const v4 = addr.slice(-8); // the last 32 bits: the IPv4 address for tcp and for v4-mapped tcp6
      const mapped = addr.length === 8 || addr.startsWith('0000000000000000FFFF0000');
      out.push(
        mapped
          ? (v4.match(/../g) ?? [])
              .reverse()
              .map((h) => parseInt(h, 16))
              .join('.')
          : addr,
      );
    }
  }
  return out;
}

beforeAll(async () => {
  const installed = await ensureS3ProxyInstalled(quiet);
  expect(path.basename(installed.jar)).toBe('s3proxy-4.1.0-jar-with-dependencies.jar');
  dir = await mkdtemp(path.join(tmpdir(), 'dp-s3-'));
  dataDir = path.join(dir, 'data');
  server = await startS3Proxy({ port: await freePort(), dataDir, log: quiet });
  client = new S3Client(s3ClientConfig(server));
}, 120_000);

afterAll(async () => {
  client?.destroy();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('a started S3Proxy', () => {
  it('listens on 127.0.0.1 only, at the endpoint it names', async () => {
    expect(server.endpoint).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.region).toBe('us-east-1');
    expect(await isPortOpen(server.port)).toBe(true);
    const addrs = listeningAddresses(server.port);
    expect(addrs.length).toBeGreaterThan(0);
    expect(new Set(addrs)).toEqual(new Set(['127.0.0.1']));
    expect(readFileSync(server.logFile, 'utf8')).toContain(`{127.0.0.1:${server.port}}`);
  });

  it('keeps generated keys in <dataDir>-credentials.json, mode 0600, and no properties file after start', () => {
    const file = `${dataDir}-credentials.json`;
    expect(server.credentialsFile).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const kept = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(kept).toEqual({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey });
    expect(server.accessKeyId).toMatch(/^DP[A-Z0-9]{18}$/);
    expect(server.secretAccessKey).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.properties'))).toEqual([]);
  });

  it('answers 403 to a wrong secret and to an unknown access key', async () => {
    for (const bad of [
      {
        ...server,
        secretAccessKey: server.secretAccessKey.slice(0, -1) + (server.secretAccessKey.endsWith('a') ? 'b' : 'a'),
      },
      { ...server, accessKeyId: 'AKIAUNKNOWNUNKNOWN00' },
    ]) {
      const c = new S3Client({ ...s3ClientConfig(bad), maxAttempts: 1 });
      expect(await statusOf(c.send(new ListBucketsCommand({})))).toBe(403);
      c.destroy();
    }
  });

  it('refuses a second server on the same port', async () => {
    const err = await startS3Proxy({ port: server.port, dataDir, log: quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3InfraError);
    expect((err as S3InfraError).code).toBe('PORT_IN_USE');
  });

  it('creates a bucket once (true, then false) as a folder of the data dir', async () => {
    expect(await ensureBucket(server, BUCKET)).toBe(true);
    expect(await ensureBucket(server, BUCKET)).toBe(false);
    expect(statSync(path.join(dataDir, BUCKET)).isDirectory()).toBe(true);
    const names = (await client.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name);
    expect(names).toEqual([BUCKET]);
  });

  it('stores an object as a plain file with the same bytes', async () => {
    const body = 'id,name\n1,Ada\n2,Grace\n'; // 8 + 6 + 8 = 22 bytes
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bronze/org=o1/t/u1/a.csv', Body: body }));
    const file = path.join(dataDir, BUCKET, 'bronze', 'org=o1', 't', 'u1', 'a.csv');
    expect(readFileSync(file, 'utf8')).toBe(body);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'bronze/org=o1/t/u1/a.csv' }));
    expect(head.ContentLength).toBe(22);
  });
});

describe('presigned PUT with plain fetch', () => {
  const put = (url: string, body: string, contentType?: string) =>
    fetch(url, { method: 'PUT', body, headers: contentType ? { 'content-type': contentType } : {} });
  const signedHeaders = (url: string) => new URL(url).searchParams.get('X-Amz-SignedHeaders');

  it('binds Content-Length and Content-Type when both are signable headers', async () => {
    const Key = 'bronze/org=o1/t/u2/ten.csv';
    const url = await getSignedUrl(
      client,
      new PutObjectCommand({ Bucket: BUCKET, Key, ContentLength: 10, ContentType: 'text/csv' }),
      { expiresIn: 300, signableHeaders: new Set(['content-length', 'content-type']) },
    );
    expect(signedHeaders(url)).toBe('content-length;content-type;host');
    expect(new URL(url).searchParams.has('x-amz-checksum-crc32')).toBe(false);
    expect((await put(url, '0123456789A', 'text/csv')).status).toBe(403); // 11 bytes
    expect((await put(url, '012345678', 'text/csv')).status).toBe(403); // 9 bytes
    expect((await put(url, '0123456789', 'application/json')).status).toBe(403);
    expect((await put(url, '0123456789')).status).toBe(403); // fetch sends text/plain;charset=UTF-8
    expect(existsSync(path.join(dataDir, BUCKET, Key))).toBe(false);
    expect((await put(url, '0123456789', 'text/csv')).status).toBe(200);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key }));
    expect([head.ContentLength, head.ContentType]).toEqual([10, 'text/csv']);
  });

  it('binds Content-Length alone by default when ContentLength is given, but not Content-Type', async () => {
    const Key = 'bronze/org=o1/t/u3/five.bin';
    const url = await getSignedUrl(
      client,
      new PutObjectCommand({ Bucket: BUCKET, Key, ContentLength: 5, ContentType: 'text/csv' }),
      { expiresIn: 300 },
    );
    expect(signedHeaders(url)).toBe('content-length;host');
    expect((await put(url, 'abcdef', 'text/csv')).status).toBe(403);
    expect((await put(url, 'abcde', 'image/png')).status).toBe(200);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key }));
    expect([head.ContentLength, head.ContentType]).toEqual([5, 'image/png']);
  });

  it('binds no size without ContentLength, even with signableHeaders', async () => {
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: BUCKET, Key: 'any-size' }), {
      expiresIn: 300,
      signableHeaders: new Set(['content-length']),
    });
    expect(signedHeaders(url)).toBe('host');
    expect((await put(url, 'x'.repeat(1000))).status).toBe(200);
  });

  it('refuses a tampered signature, another key and an expired URL (403)', async () => {
    const Key = 'bronze/org=o1/t/u4/x';
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: BUCKET, Key, ContentLength: 3 }), {
      expiresIn: 1,
    });
    const tampered = new URL(url);
    const sig = tampered.searchParams.get('X-Amz-Signature') ?? '';
    tampered.searchParams.set('X-Amz-Signature', (sig.startsWith('0') ? '1' : '0') + sig.slice(1));
    expect((await put(tampered.href, 'abc')).status).toBe(403);
    const otherKey = new URL(url);
    otherKey.pathname = `/${BUCKET}/bronze/org=o2/t/u4/x`;
    expect((await put(otherKey.href, 'abc')).status).toBe(403);
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await put(url, 'abc');
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('Request has expired');
  });

  it('serves a presigned GET', async () => {
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'bronze/org=o1/t/u1/a.csv' }), {
      expiresIn: 60,
    });
    const res = await fetch(url);
    expect([res.status, await res.text()]).toEqual([200, 'id,name\n1,Ada\n2,Grace\n']);
  });
});

describe('restarts', () => {
  it('keeps the keys and the objects across a stop and a start on another port', async () => {
    const before = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
    await server.stop();
    await server.stop(); // idempotent
    expect(await isPortOpen(server.port)).toBe(false);
    server = await startS3Proxy({ port: await freePort(), dataDir, log: quiet });
    expect({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }).toEqual(before);
    client.destroy();
    client = new S3Client(s3ClientConfig(server));
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'bronze/org=o1/t/u1/a.csv' }));
    expect(await got.Body?.transformToString()).toBe('id,name\n1,Ada\n2,Grace\n');
  }, 60_000);

  it('refuses a credentials file that is not {accessKeyId, secretAccessKey}', async () => {
    const bad = path.join(dir, 'bad-credentials.json');
    await writeFile(bad, JSON.stringify({ accessKeyId: 'short', secretAccessKey: 'x' }));
    const err = await readOrCreateCredentials(bad).catch((e: unknown) => e);
    expect((err as S3InfraError).code).toBe('BAD_CREDENTIALS_FILE');
  });

  it('names the log file and its last lines when the JVM cannot start (START_FAILED)', async () => {
    const saved = process.env.JAVA_HOME;
    process.env.JAVA_HOME = path.join(dir, 'no-such-jdk');
    try {
      const port = await freePort();
      const err = await startS3Proxy({ port, dataDir: path.join(dir, 'failing'), log: quiet }).catch((e: unknown) => e);
      expect((err as S3InfraError).code).toBe('START_FAILED');
      expect((err as S3InfraError).logFile).toBe(path.join(REPO_ROOT, '.local', 'logs', `s3proxy-${port}.log`));
      expect((err as Error).message).toContain(`last lines of ${(err as S3InfraError).logFile}`);
      expect((err as Error).message).toContain(path.join(dir, 'no-such-jdk', 'bin', 'java'));
      expect(readdirSync(dir).filter((f) => f.endsWith('.properties'))).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.JAVA_HOME;
      else process.env.JAVA_HOME = saved;
    }
  });

  it('dies with the Node process that started it, even on SIGKILL', async () => {
    const child = spawn(
      path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      [
        path.join(REPO_ROOT, 'infra', 's3', 'test', 'start-and-hang.ts'),
        String(await freePort()),
        path.join(dir, 'other'),
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const pidLine = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout }).once('line', (l) => resolve(l)),
    );
    const jvm = Number(pidLine);
    expect(existsSync(`/proc/${jvm}`)).toBe(true);
    expect(readFileSync(`/proc/${jvm}/cmdline`, 'utf8')).toContain('s3proxy-4.1.0-jar-with-dependencies.jar');
    // tsx runs the script in a child node process: kill that whole chain without letting it clean up.
    const node = readFileSync(`/proc/${jvm}/stat`, 'utf8').split(') ')[1]?.split(' ')[1];
    process.kill(Number(node), 'SIGKILL');
    child.kill('SIGKILL');
    const deadline = Date.now() + 15_000;
    while (existsSync(`/proc/${jvm}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(`/proc/${jvm}`)).toBe(false);
  }, 60_000);
});
