import { defineConfig } from 'vitest/config';

// One run for every workspace. test/global-setup.ts starts the real engines once (PostgreSQL from
// Debian's packages, Spark Connect with Delta, Neo4j) unless DATABASE_URL / SPARK_REMOTE / NEO4J_URI
// point at running ones, and passes their addresses to the tests through those variables.
export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'subgraphs/*/test/**/*.test.ts',
      'gateway/test/**/*.test.ts',
      'infra/*/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
