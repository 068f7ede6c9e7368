import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import { parse } from 'graphql';

/** One subgraph as composition knows it: its name in the supergraph, HTTP and WebSocket URLs, and its SDL. */
export type SubgraphDef = {
  /** Name in the supergraph (`@join__graph`), e.g. "chat". */
  name: string;
  /** HTTP GraphQL endpoint, e.g. http://127.0.0.1:4002/graphql. */
  url: string;
  /** graphql-ws endpoint for subscriptions, when the subgraph serves any. */
  wsUrl?: string;
  /** The subgraph's SDL as it serves it at `_service { sdl }` (scripts/lib/subgraphs.ts). */
  sdl: string;
};

/** A composed supergraph. */
export type Composition = { supergraphSdl: string };

/** Where the gateway reaches one subgraph of the supergraph at run time (the supergraph's own URLs are not used). */
export type SubgraphEndpoint = { name: string; url: string; wsUrl?: string };

/** What the gateway runs from: a supergraph and an endpoint for each of its subgraphs. */
export type GatewaySupergraph = Composition & { subgraphs: readonly SubgraphEndpoint[] };

/**
 * The gateway's supergraph from a composed supergraph SDL (the committed `supergraph.graphql`) and the endpoints of
 * the running subgraphs, by subgraph name (`@join__graph(name:)`).
 * @throws Error when the SDL is not a supergraph, or names a subgraph without an endpoint.
 */
export function supergraphFromSdl(
  supergraphSdl: string,
  endpoints: Readonly<Record<string, { url: string; wsUrl?: string }>>,
): GatewaySupergraph {
  const subgraphs: SubgraphEndpoint[] = [];
  for (const s of Supergraph.build(supergraphSdl).subgraphs()) {
    const endpoint = endpoints[s.name];
    if (!endpoint) throw new Error(`The supergraph has a subgraph "${s.name}" that no endpoint is configured for.`);
    subgraphs.push({ name: s.name, ...endpoint });
  }
  return { supergraphSdl, subgraphs };
}

/** Composes `subgraphs` ({@link composeSupergraph}) into what the gateway runs from, with their own URLs (tests). */
export function supergraphFromDefs(subgraphs: readonly SubgraphDef[]): GatewaySupergraph {
  return {
    ...composeSupergraph(subgraphs),
    subgraphs: subgraphs.map(({ name, url, wsUrl }) => ({ name, url, wsUrl })),
  };
}

/** Thrown when composition fails; `message` lists every composition error with its code. */
export class CompositionError extends Error {}

/**
 * Composes the supergraph from the subgraphs' SDL with `@apollo/composition` (Federation 2), offline: used by
 * `npm run compose` (which writes `supergraph.graphql`) and by tests — never by the running gateway.
 * @throws CompositionError naming every error (e.g. a type clash between two subgraphs).
 */
export function composeSupergraph(subgraphs: readonly SubgraphDef[]): Composition {
  const services = subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) }));
  const result = composeServices(services);
  if (result.errors) {
    const lines = result.errors.map((e) => `  - [${String(e.extensions?.code ?? 'ERROR')}] ${e.message}`);
    throw new CompositionError(`Supergraph composition failed:\n${lines.join('\n')}`);
  }
  return { supergraphSdl: result.supergraphSdl };
}
