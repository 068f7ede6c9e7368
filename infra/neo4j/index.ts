/**
 * DataPilot's local Neo4j 5.26 LTS Community server: jars from Maven Central (infra/neo4j/pom.xml), a small
 * embedded launcher (infra/neo4j/Launcher.java) compiled at setup, and a JVM child process per server.
 *
 * Layout under `<repo>/.local/neo4j/`: `lib/` (Neo4j and its dependencies), `plugins/` (APOC core and its
 * dependencies), `classes/` (the compiled launcher). Nothing here is committed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root (two levels above this file). */
const REPO = resolve(HERE, '..', '..');
const POM = join(HERE, 'pom.xml');
const LAUNCHER_SRC = join(HERE, 'Launcher.java');

/** Where setup puts the jars and classes; `<repo>/.local/neo4j`. */
export const NEO4J_HOME = join(REPO, '.local', 'neo4j');
const LIB = join(NEO4J_HOME, 'lib');
const PLUGINS = join(NEO4J_HOME, 'plugins');
const CLASSES = join(NEO4J_HOME, 'classes');
/** A stamp file in each directory: the hash of the input it was made from (pom or launcher source). */
const STAMP = '.datapilot-stamp';

/** Receives one human-readable progress or diagnostic line (no trailing newline). */
export type LineLog = (line: string) => void;

const defaultLog: LineLog = (line) => process.stderr.write(`[neo4j] ${line}\n`);

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const stampOf = (dir: string) => {
  try {
    return readFileSync(join(dir, STAMP), 'utf8').trim();
  } catch {
    return undefined;
  }
};

const TOOL_HELP: Record<string, string> = {
  java: 'a Java 17 runtime (Debian: apt-get install openjdk-17-jre-headless)',
  javac: 'a Java 17 JDK (Debian: apt-get install openjdk-17-jdk-headless)',
  mvn: 'Apache Maven 3.6 or newer (Debian: apt-get install maven)',
};

/** Throws naming `tool` and how to get it when it cannot be run. */
function requireTool(tool: 'java' | 'javac' | 'mvn'): void {
  const r = spawnSync(tool, [tool === 'mvn' ? '-v' : '-version'], { stdio: 'ignore' });
  if (r.error || r.status !== 0)
    throw new Error(
      `Neo4j setup needs \`${tool}\` on PATH, which was not found or failed: install ${TOOL_HELP[tool]}.`,
    );
}

/** Runs a command to completion without blocking the event loop; throws with its last output lines on a non-zero exit. */
function run(cmd: string, args: string[], what: string): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const keep = (chunk: Buffer) => {
      tail.push(...chunk.toString('utf8').split('\n'));
      if (tail.length > 200) tail.splice(0, tail.length - 200);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (e) => fail(new Error(`${what} failed to run ${cmd}: ${e.message}`)));
    child.once('close', (code) => {
      if (code === 0) return ok();
      const last = tail.join('\n').trim().split('\n').slice(-15).join('\n');
      fail(new Error(`${what} failed (${cmd} exited with ${code}):\n${last}`));
    });
  });
}

/** Fills `dir` through a temporary sibling that is renamed into place, so a half-done step never looks done. */
async function buildInto(dir: string, stamp: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await fill(tmp);
    writeFileSync(join(tmp, STAMP), stamp + '\n');
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Makes sure the local Neo4j can start: resolves the Neo4j and APOC jars with Maven into
 * `.local/neo4j/lib` and `.local/neo4j/plugins` and compiles the launcher into `.local/neo4j/classes`.
 * Idempotent: each step runs only when its output is missing or was made from another pom.xml /
 * Launcher.java (a sha256 stamp), so a second call returns in milliseconds.
 *
 * Measured on 2 cores: about 10 s with a warm Maven cache, about 15 s with a cold one (~125 MB of jars).
 * @param log receives progress lines (default: stderr with a `[neo4j]` prefix).
 * @throws Error naming a missing tool (`java`, `mvn`, `javac`) and how to install it, or naming the step
 *   that failed with the tool's last output lines.
 */
export async function ensureNeo4jInstalled(log: LineLog = defaultLog): Promise<void> {
  requireTool('java');
  const pomHash = sha256(POM);
  const jarsReady = stampOf(LIB) === pomHash && stampOf(PLUGINS) === pomHash;
  if (!jarsReady) {
    requireTool('mvn');
    log('fetching Neo4j jars from Maven Central into .local/neo4j/lib ...');
    const started = Date.now();
    const copy = (out: string, scope: string) =>
      run(
        'mvn',
        ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${out}`, `-DincludeScope=${scope}`],
        `Fetching the Neo4j jars (scope ${scope})`,
      );
    await buildInto(LIB, pomHash, (tmp) => copy(tmp, 'runtime'));
    log('fetching APOC core into .local/neo4j/plugins ...');
    await buildInto(PLUGINS, pomHash, (tmp) => copy(tmp, 'provided'));
    log(`jars ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  // The launcher is recompiled when its source or the jars change.
  const classesStamp = `${sha256(LAUNCHER_SRC)}:${pomHash}`;
  if (stampOf(CLASSES) !== classesStamp || !existsSync(join(CLASSES, 'Launcher.class'))) {
    requireTool('javac');
    log('compiling infra/neo4j/Launcher.java into .local/neo4j/classes ...');
    await buildInto(CLASSES, classesStamp, (tmp) =>
      run('javac', ['-d', tmp, '-cp', join(LIB, '*'), LAUNCHER_SRC], 'Compiling Launcher.java'),
    );
  }
}

/** Options of {@link startNeo4j}. */
export type StartNeo4jOptions = {
  /** Bolt TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** DBMS home: store under `<dataDir>/data`, logs (debug.log) under `<dataDir>/logs`; created when missing. */
  dataDir: string;
  /** Password of user `neo4j` (at least 8 characters); set on first start and re-applied on later ones. */
  password: string;
  /** Receives the server's diagnostic lines (default: stderr with a `[neo4j]` prefix). */
  log?: LineLog;
  /** Maximum JVM heap in MiB (default 512; the page cache adds 128 MiB off-heap). */
  heapMb?: number;
  /** How long to wait for Bolt, in milliseconds (default 120000). */
  readyTimeoutMs?: number;
};

/** A running local Neo4j; see {@link startNeo4j}. */
export type RunningNeo4j = {
  /** `bolt://127.0.0.1:<port>`. */
  uri: string;
  /** Bolt port actually bound. */
  port: number;
  /** Stops the server (SIGTERM: clean shutdown, SIGKILL after 30 s); resolves when the JVM has exited. Idempotent. */
  stop(): Promise<void>;
  /** Resolves with the JVM's exit code (null when killed by a signal) once it exits, for whatever reason. */
  exited: Promise<number | null>;
};

/** Resolves a free loopback port (port 0), or checks that `port` is free; throws naming the busy port. */
async function freePort(port: number): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) =>
      fail(
        new Error(
          e.code === 'EADDRINUSE'
            ? `Cannot start Neo4j: 127.0.0.1:${port} is already in use (another Neo4j? stop it or pick another port).`
            : `Cannot start Neo4j: port ${port} cannot be bound (${e.message}).`,
        ),
      ),
    );
    srv.listen(port, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => ok(p));
    });
  });
}

/**
 * Starts the local Neo4j in a child JVM and resolves once Bolt accepts connections with `password`
 * (the launcher prints READY after the default database is available and the password is set).
 * The JVM exits on its own when this Node process dies (its stdin closes).
 *
 * Start-up measured on 2 cores: 7 to 10 s when idle, up to 17 s under load (new or existing store alike).
 * @throws Error when setup has not run (names the command), the port is busy, the JVM exits before it is
 *   ready (with its last stderr lines: a locked store, a bad password, ...), or readiness times out
 *   (the JVM is then killed).
 */
export async function startNeo4j(opts: StartNeo4jOptions): Promise<RunningNeo4j> {
  const log = opts.log ?? defaultLog;
  const timeoutMs = opts.readyTimeoutMs ?? 120_000;
  if (!existsSync(join(CLASSES, 'Launcher.class')) || !existsSync(PLUGINS))
    throw new Error('Neo4j is not set up: run `npx tsx infra/neo4j/cli.ts setup` (or ensureNeo4jInstalled()).');
  if (opts.password.length < 8) throw new Error('The Neo4j password must have at least 8 characters.');
  const port = await freePort(opts.port);
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });

  const child = spawn(
    'java',
    [
      '-Xms64m',
      `-Xmx${opts.heapMb ?? 512}m`,
      '-XX:+UseG1GC',
      // What Neo4j's own start script opens for Netty and its page cache on Java 17.
      '--add-opens=java.base/java.nio=ALL-UNNAMED',
      '--add-opens=java.base/java.io=ALL-UNNAMED',
      '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
      '-Dio.netty.tryReflectionSetAccessible=true',
      '-Dlog4j2.disable.jmx=true',
      '-cp',
      // Plugins are on the classpath too: APOC's extensions (ApocConfig, ...) are found through ServiceLoader,
      // its procedures through the plugin directory.
      [CLASSES, join(LIB, '*'), join(PLUGINS, '*')].join(':'),
      'Launcher',
      dataDir,
      String(port),
      PLUGINS,
      '--exit-on-stdin-eof',
    ],
    { env: { ...process.env, NEO4J_PASSWORD: opts.password }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const uri = `bolt://127.0.0.1:${port}`;
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
    log(line);
  });
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));

  const started = Date.now();
  log(`starting Neo4j on ${uri} (data ${dataDir}) ...`);
  await new Promise<void>((ok, fail) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) fail(err);
      else ok();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`Neo4j did not become ready on ${uri} within ${timeoutMs} ms; see ${dataDir}/logs/debug.log.`));
    }, timeoutMs);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('READY ')) finish();
    });
    child.once('error', (e) => finish(new Error(`Could not run java for Neo4j: ${e.message}`)));
    void exited.then((code) =>
      finish(
        new Error(
          `Neo4j exited with code ${code} before Bolt was ready on ${uri}:\n${stderrTail.join('\n')}\n` +
            `(more in ${dataDir}/logs/debug.log)`,
        ),
      ),
    );
  });
  log(`Neo4j ready on ${uri} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  let stopping: Promise<void> | undefined;
  return {
    uri,
    port,
    exited,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(killer);
      })();
      return stopping;
    },
  };
}
