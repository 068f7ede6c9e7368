import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { SubgraphDef } from './compose.ts';

/** Where each subgraph listens; see README "Configuration". */
export type SubgraphUrls = { auth: string; chat: string; chatWs: string; lake: string; lakeWs: string; graph: string };

const sdlFile = (name: string) => fileURLToPath(new URL(`../../subgraphs/${name}/schema.graphql`, import.meta.url));

/**
 * The four subgraphs with their SDL: auth, chat and lake from their `schema.graphql` (the very file each
 * runs from); graph from `@neo4j/graphql`'s generated subgraph schema, built offline from its
 * `schema.graphql` by `graphSubgraphSdl()` (no database needed).
 */
export async function loadSubgraphDefs(urls: SubgraphUrls): Promise<SubgraphDef[]> {
  const { graphSubgraphSdl } = await import('@datapilot/graph/sdl');
  return [
    { name: 'auth', url: urls.auth, sdl: await readFile(sdlFile('auth'), 'utf8') },
    { name: 'chat', url: urls.chat, wsUrl: urls.chatWs, sdl: await readFile(sdlFile('chat'), 'utf8') },
    { name: 'lake', url: urls.lake, wsUrl: urls.lakeWs, sdl: await readFile(sdlFile('lake'), 'utf8') },
    { name: 'graph', url: urls.graph, sdl: await graphSubgraphSdl() },
  ];
}
