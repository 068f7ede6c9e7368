/**
 * `npm run compose`: composes the four subgraphs' SDL into `supergraph.graphql`, the file the gateway runs from, and
 * guards clients against breaking changes the way `rover subgraph check` guards a graph.
 *
 *   npm run compose                                  write supergraph.graphql; refuse unacknowledged breaking changes
 *   npm run compose -- --accept-breaking "<why>"     acknowledge the breaking changes it lists (supergraph-changes.json)
 *   npm run compose:check                            CI: the committed supergraph is the composition of the sources,
 *                                                    and every breaking change since its previous version is
 *                                                    acknowledged
 *
 * A breaking change is one graphql-js's `findBreakingChanges` reports between two API schemas (the supergraph as
 * clients see it): a removed type or field, a changed field type, a new required argument, a removed enum value...
 * Exit status 1 with every finding listed; 0 otherwise.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  CHANGES_FILE,
  SUPERGRAPH_FILE,
  API_SCHEMA_FILE,
  apiSchemaFile,
  breakingChanges,
  composeSources,
  dangerousChanges,
  previousVersion,
  readAcknowledged,
  sdlOf,
} from './lib/supergraph.ts';

function report(title: string, lines: readonly string[]): void {
  if (lines.length) console.log(`${title}\n${lines.map((l) => `  - ${l}`).join('\n')}`);
}

async function write(acceptReason: string | undefined): Promise<number> {
  const fresh = await composeSources();
  const before = existsSync(SUPERGRAPH_FILE) ? readFileSync(SUPERGRAPH_FILE, 'utf8') : undefined;
  if (
    before === fresh &&
    existsSync(API_SCHEMA_FILE) &&
    readFileSync(API_SCHEMA_FILE, 'utf8') === apiSchemaFile(fresh)
  ) {
    console.log('supergraph.graphql is up to date.');
    return 0;
  }
  if (before) {
    const acknowledged = readAcknowledged();
    const known = new Set(acknowledged.map((a) => a.change));
    const breaking = breakingChanges(sdlOf(before), sdlOf(fresh)).filter((c) => !known.has(c));
    report('Changes that may affect clients (not breaking):', dangerousChanges(sdlOf(before), sdlOf(fresh)));
    if (breaking.length && !acceptReason) {
      report('Breaking changes for clients, not acknowledged:', breaking);
      console.log('Nothing written. Avoid them, or acknowledge them: npm run compose -- --accept-breaking "<why>"');
      return 1;
    }
    if (breaking.length) {
      const at = new Date().toISOString().slice(0, 10);
      const added = breaking.map((change) => ({ change, reason: acceptReason!, acknowledgedAt: at }));
      writeFileSync(CHANGES_FILE, `${JSON.stringify([...acknowledged, ...added], null, 2)}\n`);
      report(`Acknowledged in ${path.basename(CHANGES_FILE)}:`, breaking);
    }
  }
  writeFileSync(SUPERGRAPH_FILE, fresh);
  writeFileSync(API_SCHEMA_FILE, apiSchemaFile(fresh));
  console.log('Wrote supergraph.graphql and schema.graphql (the API schema).');
  return 0;
}

async function check(): Promise<number> {
  if (!existsSync(SUPERGRAPH_FILE)) {
    console.log('supergraph.graphql is missing: run `npm run compose` and commit it.');
    return 1;
  }
  const committed = readFileSync(SUPERGRAPH_FILE, 'utf8');
  let status = 0;
  const apiCommitted = existsSync(API_SCHEMA_FILE) ? readFileSync(API_SCHEMA_FILE, 'utf8') : '';
  if ((await composeSources()) !== committed || apiCommitted !== apiSchemaFile(committed)) {
    console.log(
      'supergraph.graphql or schema.graphql is stale: the subgraphs changed. Run `npm run compose` and commit both.',
    );
    status = 1;
  }
  const previous = previousVersion(committed);
  if (previous) {
    const known = new Set(readAcknowledged().map((a) => a.change));
    const breaking = breakingChanges(sdlOf(previous), sdlOf(committed)).filter((c) => !known.has(c));
    if (breaking.length) {
      report('Breaking changes since the previous supergraph, not acknowledged in supergraph-changes.json:', breaking);
      status = 1;
    }
  }
  if (status === 0) console.log('supergraph.graphql is the composition of the subgraphs; no unacknowledged break.');
  return status;
}

const args = process.argv.slice(2);
const i = args.indexOf('--accept-breaking');
const reason = i >= 0 ? args[i + 1]?.trim() : undefined;
if (i >= 0 && !reason) {
  console.log('--accept-breaking needs a reason: --accept-breaking "<why clients must change>"');
  process.exit(1);
}
process.exitCode = args.includes('--check') ? await check() : await write(reason);
