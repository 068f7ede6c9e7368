import { str, url } from './config.ts';
import { devSecret } from './production.ts';

/**
 * The Neo4j variables, for every service that reads or writes the organization graph (the graph subgraph; chat reads
 * the semantic layer): `loadConfig({ ...NEO4J_CONFIG, ... })`. One definition, so a deployment sets them once.
 */
export const NEO4J_CONFIG = {
  NEO4J_URI: url('Bolt URI of Neo4j', 'bolt://127.0.0.1:7688'),
  NEO4J_USER: str('Neo4j user', 'neo4j'),
  // 'datapilot-test' is the test suite's (test/global-setup.ts); the default is also compose's and infra/neo4j's.
  NEO4J_PASSWORD: devSecret(str('Neo4j password', 'datapilot-dev'), 'the password of your Neo4j user', [
    'datapilot-test',
  ]),
};
