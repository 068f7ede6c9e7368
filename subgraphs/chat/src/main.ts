// Bootstrap of the chat subgraph: configuration from the environment, migrations, then createChatServer.
import type pg from 'pg';
import {
  createLogger,
  createServiceAuthenticator,
  loadConfig,
  onShutdown,
  openServiceDatabase,
  startTracing,
} from '@datapilot/common';
import { createLakeFromConfig } from '@datapilot/lake-core';
import neo4j from 'neo4j-driver';
import { createAnalyst, createLlmClient, createNeo4jSemanticSource } from './analyst/index.ts';
import { CHAT_SERVICE_CONFIG } from './config.ts';
import { createChatServer, MIGRATIONS_DIR } from './server.ts';

const config = loadConfig(CHAT_SERVICE_CONFIG);

const logger = createLogger('chat', config.LOG_LEVEL);
const tracing = await startTracing('chat', logger);
const { spark, store, lake } = createLakeFromConfig(config, logger);
// The semantic layer is read-only here; an unreachable Neo4j makes answers use the lake's names and types alone.
const graph = neo4j.driver(config.NEO4J_URI, neo4j.auth.basic(config.NEO4J_USER, config.NEO4J_PASSWORD), {
  connectionTimeout: 5_000,
});
const llm = config.ANALYST_LLM_URL
  ? createLlmClient({
      url: config.ANALYST_LLM_URL,
      model: config.ANALYST_LLM_MODEL,
      apiKey: config.ANALYST_LLM_API_KEY,
      timeoutMs: config.ANALYST_LLM_TIMEOUT_MS,
    })
  : null;
if (llm) logger.info('analyst: LLM plug on', { url: config.ANALYST_LLM_URL, model: config.ANALYST_LLM_MODEL });
const analyst = createAnalyst({
  semantic: createNeo4jSemanticSource(graph),
  llm,
  onWarning: (what, err) => logger.warn(what, { err }),
  // Where each answer's time went (ms per step), for LOG_LEVEL=debug and bench/chat.ts.
  onTimings: (t, orgId) =>
    logger.debug('analyst timings', {
      orgId,
      ms: Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 10) / 10])),
    }),
});

// Migrations as the schema's owner (DATABASE_MIGRATION_URL), requests as the runtime role (DATABASE_URL).
let db: pg.Pool | undefined;
try {
  const pool = (db = await openServiceDatabase({
    url: config.DATABASE_URL,
    migrationUrl: config.DATABASE_MIGRATION_URL,
    schema: 'chat',
    migrationsDir: MIGRATIONS_DIR,
    poolMax: config.DATABASE_POOL_MAX,
    logger,
  }));
  const server = await createChatServer({
    pool,
    lake,
    analyst,
    authenticator: createServiceAuthenticator(config.AUTH_JWKS_URL),
    port: config.CHAT_PORT,
    host: config.CHAT_HOST,
    logger,
    streamDelayMs: config.CHAT_STREAM_DELAY_MS,
    maxConcurrentQuestionsPerOrg: config.CHAT_MAX_CONCURRENT_QUESTIONS_PER_ORG,
  });
  onShutdown(logger, [
    () => server.close(),
    () => lake.close(),
    () => spark.close(),
    () => store.close(),
    () => graph.close(),
    () => pool.end(),
    () => tracing.shutdown(),
  ]);
} catch (err) {
  logger.error('chat failed to start', { err });
  await db?.end().catch(() => undefined);
  process.exit(1);
}
