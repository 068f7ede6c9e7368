import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// Node resolves `graphql` to its CommonJS entry (the package has no "exports"; "main" is index.js) for every module,
// ours and the libraries'. Vite would pick its "module" field (index.mjs) for the sources: a second graphql-js realm
// whose GraphQLError fails the `instanceof` checks of graphql-ws. Tests resolve it as Node does.
const GRAPHQL_MAIN = createRequire(import.meta.url).resolve('graphql');

// One run for every workspace. test/global-setup.ts starts the real engines once (PostgreSQL from
// Debian's packages, S3Proxy, Spark Connect with Delta and s3a, Neo4j, Airflow with the ingest DAG) unless
// DATABASE_URL / S3_ENDPOINT / SPARK_REMOTE / NEO4J_URI / AIRFLOW_URL point at running ones, and passes their
// addresses to the tests through those variables. pytest runs inside this run too (test/python.test.ts).
export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: GRAPHQL_MAIN }] },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'subgraphs/*/test/**/*.test.ts',
      'gateway/test/**/*.test.ts',
      'sdk/test/**/*.test.ts',
      'infra/*/test/**/*.test.ts',
      'test/**/*.test.ts',
      'compose/test/**/*.test.ts',
    ],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup/pg-idle-errors.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
    // The AWS SDK warns on Node 20 in every process; its versions are pinned (package.json) to ones that support it.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
