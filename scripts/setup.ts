// `npm run setup`: installs what the stack and tests need beyond npm: the Python environment with
// PySpark, the Delta jars, and the Neo4j + APOC jars (all fetched by name from PyPI / Maven Central).
import { ensureSparkInstalled } from '../infra/spark/index.ts';
import { ensureNeo4jInstalled } from '../infra/neo4j/index.ts';

const log = (msg: string) => process.stderr.write(`[setup] ${msg}\n`);
try {
  await ensureSparkInstalled(log);
  await ensureNeo4jInstalled(log);
  log('done');
} catch (e) {
  log(`failed: ${(e as Error).message}`);
  process.exit(1);
}
