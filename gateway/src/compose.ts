import { composeServices } from '@apollo/composition';
import { Kind, parse, type DocumentNode } from 'graphql';

/** One subgraph as the gateway knows it: its name in the supergraph, HTTP and WebSocket URLs, and its SDL. */
export type SubgraphDef = {
  /** Name in the supergraph (`@join__graph`), e.g. "chat". */
  name: string;
  /** HTTP GraphQL endpoint, e.g. http://127.0.0.1:4002/graphql. */
  url: string;
  /** graphql-ws endpoint for subscriptions, when the subgraph serves any. */
  wsUrl?: string;
  /** The subgraph's SDL: the same file it runs from (`subgraphs/<name>/schema.graphql`). */
  sdl: string;
};

/** A composed supergraph plus, for each `Subscription` root field, the subgraph that owns it. */
export type Composition = {
  supergraphSdl: string;
  /** Subscription field name → subgraph name. */
  subscriptionOwners: ReadonlyMap<string, string>;
};

/** Thrown when composition fails; `message` lists every composition error with its code. */
export class CompositionError extends Error {}

/**
 * Composes the supergraph from the subgraphs' SDL with `@apollo/composition` (Federation 2),
 * in-process and at start — never by introspecting running subgraphs.
 * @throws CompositionError naming every error (e.g. a type clash between two subgraphs).
 */
export function composeSupergraph(subgraphs: readonly SubgraphDef[]): Composition {
  const services = subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) }));
  const result = composeServices(services);
  if (result.errors) {
    const lines = result.errors.map((e) => `  - [${String(e.extensions?.code ?? 'ERROR')}] ${e.message}`);
    throw new CompositionError(`Supergraph composition failed:\n${lines.join('\n')}`);
  }
  const owners = new Map<string, string>();
  for (const s of services) for (const field of subscriptionFields(s.typeDefs)) owners.set(field, s.name);
  return { supergraphSdl: result.supergraphSdl, subscriptionOwners: owners };
}

/** Names of the fields a subgraph declares on `Subscription` (type or extension). */
function subscriptionFields(doc: DocumentNode): string[] {
  const out: string[] = [];
  for (const def of doc.definitions) {
    if (
      (def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.OBJECT_TYPE_EXTENSION) &&
      def.name.value === 'Subscription'
    )
      for (const f of def.fields ?? []) out.push(f.name.value);
  }
  return out;
}
