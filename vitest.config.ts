import { defineConfig } from 'vitest/config';

// One run for every workspace. test/global-setup.ts starts the real engines once (PostgreSQL from
// Debian's packages, S3Proxy, Spark Connect with Delta and s3a, Neo4j, Airflow with the ingest DAG) unless
// DATABASE_URL / S3_ENDPOINT / SPARK_REMOTE / NEO4J_URI / AIRFLOW_URL point at running ones, and passes their
// addresses to the tests through those variables. pytest runs inside this run too (test/python.test.ts).
export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'subgraphs/*/test/**/*.test.ts',
      'gateway/test/**/*.test.ts',
      'infra/*/test/**/*.test.ts',
      'test/**/*.test.ts',
      'compose/test/**/*.test.ts',
    ],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
    // The AWS SDK warns on Node 20 in every process; its versions are pinned (package.json) to ones that support it.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
