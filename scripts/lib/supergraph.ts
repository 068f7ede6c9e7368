/**
 * The supergraph file and its guard against breaking changes (used by `scripts/compose.ts`): the fresh composition of
 * the sources, the committed file, its previous version in git history and the acknowledged breaking changes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supergraph } from '@apollo/federation-internals';
import { findBreakingChanges, findDangerousChanges, printSchema, type GraphQLSchema } from 'graphql';
import { composeSupergraph } from '../../gateway/src/compose.ts';
import { loadSubgraphDefs } from './subgraphs.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The committed supergraph, at the repository's root. */
export const SUPERGRAPH_FILE = path.join(REPO_ROOT, 'supergraph.graphql');
/**
 * The API schema as clients see it (the supergraph without federation's types and directives), printed with its
 * descriptions: the schema the SDK is generated from and the schema lint reads. Written with the supergraph.
 */
export const API_SCHEMA_FILE = path.join(REPO_ROOT, 'schema.graphql');
/** The acknowledged breaking changes: `[{ change, reason, acknowledgedAt }]`, oldest first. */
export const CHANGES_FILE = path.join(REPO_ROOT, 'supergraph-changes.json');

const HEADER =
  '# The composed supergraph (Apollo Federation 2): written by `npm run compose` from subgraphs/*/schema.graphql and\n' +
  "# the graph subgraph's generated schema. The gateway runs from this file. Do not edit by hand.\n";

/** One acknowledged breaking change. */
export type Acknowledged = { change: string; reason: string; acknowledgedAt: string };

/** The API schema (what clients see) of a supergraph SDL. */
function apiSchema(supergraphSdl: string): GraphQLSchema {
  return Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema();
}

/** `TYPE: description` of each breaking change from `before` to `after` (supergraph SDLs). */
export function breakingChanges(before: string, after: string): string[] {
  return findBreakingChanges(apiSchema(before), apiSchema(after)).map((c) => `${c.type}: ${c.description}`);
}

export function dangerousChanges(before: string, after: string): string[] {
  return findDangerousChanges(apiSchema(before), apiSchema(after)).map((c) => `${c.type}: ${c.description}`);
}

export function readAcknowledged(): Acknowledged[] {
  return existsSync(CHANGES_FILE) ? (JSON.parse(readFileSync(CHANGES_FILE, 'utf8')) as Acknowledged[]) : [];
}

/** The fresh composition of the sources, with the file header. */
export async function composeSources(): Promise<string> {
  const { supergraphSdl } = composeSupergraph(await loadSubgraphDefs());
  return `${HEADER}${supergraphSdl}\n`;
}

/** The API schema file's text for a supergraph file's text. */
export function apiSchemaFile(supergraphFile: string): string {
  return (
    '# The API schema clients see: the composed supergraph (supergraph.graphql) without federation internals.\n' +
    '# Written by `npm run compose`; the SDK is generated from it. Do not edit by hand.\n' +
    `${printSchema(apiSchema(sdlOf(supergraphFile)))}\n`
  );
}

/** Strips the header comment (not part of the SDL's meaning). */
export const sdlOf = (file: string) => file.replace(/^(#.*\n)+/, '');

/**
 * The previous version of the committed supergraph: the newest version in git history that differs from `current`
 * (undefined without git or history, e.g. the first composition).
 */
export function previousVersion(current: string): string | undefined {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const commits = git('log', '--format=%H', '-n', '50', '--', 'supergraph.graphql').split('\n').filter(Boolean);
    for (const c of commits) {
      const text = git('show', `${c}:supergraph.graphql`);
      if (text !== current) return text;
    }
  } catch {
    // No git, or the file is not in history yet.
  }
  return undefined;
}
