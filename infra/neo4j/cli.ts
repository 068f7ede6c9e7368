/**
 * Runs the local Neo4j by hand.
 *
 *   npx tsx infra/neo4j/cli.ts setup   fetch the jars and compile the launcher (idempotent)
 *   npx tsx infra/neo4j/cli.ts start   setup if needed, then serve Bolt until SIGINT/SIGTERM
 *
 * Env (start): NEO4J_URI (default bolt://127.0.0.1:7688; its port is the Bolt port), NEO4J_PASSWORD (default
 * datapilot-dev), NEO4J_DATA_DIR (default <repo>/.local/data/neo4j), NEO4J_HEAP_MB (default 512).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, int, loadConfig, str, url } from '@datapilot/common';
import { ensureNeo4jInstalled, startNeo4j } from './index.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const log = (line: string) => process.stderr.write(`[neo4j] ${line}\n`);

async function main(cmd: string | undefined): Promise<void> {
  if (cmd !== 'setup' && cmd !== 'start') {
    process.stderr.write('usage: tsx infra/neo4j/cli.ts setup|start\n');
    process.exitCode = 2;
    return;
  }
  const started = Date.now();
  await ensureNeo4jInstalled(log);
  log(`setup done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (cmd === 'setup') return;

  const cfg = loadConfig({
    NEO4J_URI: url('Bolt URI of the local Neo4j; its port is the one served', 'bolt://127.0.0.1:7688'),
    NEO4J_PASSWORD: str('password of user neo4j (at least 8 characters)', 'datapilot-dev'),
    NEO4J_DATA_DIR: str('DBMS home directory of the local Neo4j', join(REPO, '.local', 'data', 'neo4j')),
    NEO4J_HEAP_MB: int('maximum JVM heap of the local Neo4j, in MiB', 512, 128, 16384),
  });
  const u = new URL(cfg.NEO4J_URI);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost')
    throw new ConfigError(`NEO4J_URI=${cfg.NEO4J_URI} must point at 127.0.0.1 to start a local server.`);
  const server = await startNeo4j({
    port: Number(u.port || 7687),
    dataDir: cfg.NEO4J_DATA_DIR,
    password: cfg.NEO4J_PASSWORD,
    heapMb: cfg.NEO4J_HEAP_MB,
    log,
  });
  process.stdout.write(`READY ${server.uri}\n`);
  let stopping = false;
  const shutdown = () => {
    stopping = true;
    void server.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  void server.exited.then((code) => {
    if (stopping) return;
    log(`Neo4j exited on its own with code ${code}`);
    process.exit(1);
  });
}

main(process.argv[2]).catch((e: unknown) => {
  log(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
