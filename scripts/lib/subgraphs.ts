/**
 * The subgraphs' SDL, read from their sources: what `npm run compose` composes into `supergraph.graphql` and what
 * tests compose ad hoc. The gateway itself never reads it: it runs from the committed supergraph.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { DEFAULT_PORTS, guardSchema } from '@datapilot/common';
import type { SubgraphDef } from '../../gateway/src/compose.ts';

/** Where each subgraph listens; see README "Configuration". */
export type SubgraphUrls = { auth: string; chat: string; chatWs: string; lake: string; lakeWs: string; graph: string };

/** The development URLs (DEFAULT_PORTS on 127.0.0.1): the ones written into the committed supergraph. */
export function defaultSubgraphUrls(): SubgraphUrls {
  const http = (port: number) => `http://127.0.0.1:${port}/graphql`;
  const ws = (port: number) => `ws://127.0.0.1:${port}/graphql`;
  const P = DEFAULT_PORTS;
  return {
    auth: http(P.auth),
    chat: http(P.chat),
    chatWs: ws(P.chat),
    lake: http(P.lake),
    lakeWs: ws(P.lake),
    graph: http(P.graph),
  };
}

const sdlFile = (name: string) => fileURLToPath(new URL(`../../subgraphs/${name}/schema.graphql`, import.meta.url));

/**
 * A subgraph's SDL as its running service answers `_service { sdl }`: its schema file built as a subgraph schema and
 * passed through the permission guard (`guardSchema`), which writes each root field's and entity's access rule into
 * its description — so the supergraph, `schema.graphql` and Sandbox show who may call what. Built without resolvers:
 * nothing here is executed (subscriptions get a subscribe function that refuses, for the guard to wrap).
 */
async function guardedSdl(name: string): Promise<string> {
  const schema = buildSubgraphSchema({ typeDefs: parse(await readFile(sdlFile(name), 'utf8')) });
  for (const field of Object.values(schema.getSubscriptionType()?.getFields() ?? {}))
    field.subscribe ??= () => {
      throw new Error('composition only');
    };
  return printSubgraphSchema(guardSchema(schema));
}

/**
 * The four subgraphs with their SDL as each serves it: auth, chat and lake from their `schema.graphql` (the very file
 * each runs from) with the guard's rules ({@link guardedSdl}); graph from `@neo4j/graphql`'s generated subgraph schema, built offline from its
 * `schema.graphql` by `graphSubgraphSdl()` (no database needed).
 */
export async function loadSubgraphDefs(urls: SubgraphUrls = defaultSubgraphUrls()): Promise<SubgraphDef[]> {
  const { graphSubgraphSdl } = await import('@datapilot/graph/sdl');
  return [
    { name: 'auth', url: urls.auth, sdl: await guardedSdl('auth') },
    { name: 'chat', url: urls.chat, wsUrl: urls.chatWs, sdl: await guardedSdl('chat') },
    { name: 'lake', url: urls.lake, wsUrl: urls.lakeWs, sdl: await guardedSdl('lake') },
    { name: 'graph', url: urls.graph, sdl: await graphSubgraphSdl() },
  ];
}
