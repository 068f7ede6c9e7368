/**
 * Hive Gateway for bench/gateway.ts: `@graphql-hive/gateway-runtime` with the HTTP transport on a node:http server,
 * forwarding the client's `Authorization` header to the subgraphs. Env: BENCH_SUPERGRAPH_PATH (a composed
 * supergraph whose `@join__graph(url:)` are the subgraphs to call), BENCH_PORT (the port, 127.0.0.1), BENCH_DEDUPE
 * (`0`: no de-duplication of identical in-flight subgraph requests; otherwise Hive's default, on).
 */
import { createServer, type RequestListener } from 'node:http';
import { readFileSync } from 'node:fs';

// Loaded by a computed name, so the type checker does not read their declarations: @whatwg-node/fetch's reference
// `lib="dom"`, whose fetch types would replace Node's in the whole program. The slice used here is typed below.
const load = (name: string): Promise<unknown> => import(name);
type HiveRuntime = { createGatewayRuntime(options: Record<string, unknown>): RequestListener };
const { createGatewayRuntime } = (await load('@graphql-hive/gateway-runtime')) as HiveRuntime;
const { default: http } = (await load('@graphql-mesh/transport-http')) as { default: unknown };

const dedupe = process.env.BENCH_DEDUPE !== '0';
const gateway = createGatewayRuntime({
  supergraph: readFileSync(process.env.BENCH_SUPERGRAPH_PATH!, 'utf8'),
  transports: { http },
  ...(dedupe ? {} : { transportEntries: { '*.http': { options: { deduplicateInflightRequests: false } } } }),
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }: { request: Request }) => ({
      authorization: request.headers.get('authorization'),
    }),
  },
  logging: 'warn',
  landingPage: false,
  graphiql: false,
});
const server = createServer(gateway);
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.BENCH_PORT), '127.0.0.1', () =>
  console.log(`Hive Gateway (de-duplication ${dedupe ? 'on' : 'off'}) listening on ${process.env.BENCH_PORT}`),
);
