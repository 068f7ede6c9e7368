// `npm run setup`: installs what the stack and tests need beyond npm: the Python environment with
// PySpark, the Delta and s3a jars, the Neo4j + APOC jars, S3Proxy (all fetched by name from PyPI / Maven Central)
// and Airflow in its own venv from the lock orchestration/requirements-airflow.txt.
import { ensureSparkInstalled } from '../infra/spark/index.ts';
import { ensureNeo4jInstalled } from '../infra/neo4j/index.ts';
import { ensureS3ProxyInstalled } from '../infra/s3/index.ts';
import { ensureAirflowInstalled } from '../infra/airflow/index.ts';

const log = (msg: string) => process.stderr.write(`[setup] ${msg}\n`);
try {
  await ensureSparkInstalled(log);
  await ensureNeo4jInstalled(log);
  await ensureS3ProxyInstalled(log);
  await ensureAirflowInstalled(log);
  log('done');
} catch (e) {
  log(`failed: ${(e as Error).message}`);
  process.exit(1);
}
