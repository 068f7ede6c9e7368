/**
 * The baseline of bench/gateway.ts: a stock `@apollo/gateway` on `@apollo/server` 5's standalone server, with
 * nothing added but forwarding the client's `Authorization` header to the subgraphs (RemoteGraphQLDataSource).
 * Env: BENCH_SUPERGRAPH_PATH (a composed supergraph whose `@join__graph(url:)` are the subgraphs to call),
 * BENCH_PORT (the port to listen on, 127.0.0.1).
 */
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';

type Ctx = { authorization?: string };

class ForwardAuthorization extends RemoteGraphQLDataSource<Ctx> {
  override willSendRequest({
    request,
    context,
  }: Parameters<NonNullable<RemoteGraphQLDataSource<Ctx>['willSendRequest']>>[0]) {
    if (context.authorization) request.http?.headers.set('authorization', context.authorization);
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.BENCH_SUPERGRAPH_PATH!, 'utf8'),
  buildService: ({ url }) => new ForwardAuthorization({ url }),
});
const server = new ApolloServer<Ctx>({ gateway: gateway as never });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.BENCH_PORT), host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`stock @apollo/gateway listening at ${url}`);
