// /health and /ready (health.ts) over a real HTTP server, with a real TCP dependency that goes away and comes back.
import { createServer as createNetServer, type Server as NetServer, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphQLHttpServer, createLogger, healthRoutes, listen, closeServer } from '../src/index.ts';
import { ApolloServer } from '@apollo/server';
import { buildSchema } from 'graphql';

const logger = createLogger('health-test', 'error');
let dependency: NetServer | null = null;
let port = 0;
const openDependency = () =>
  new Promise<void>((resolve) => {
    dependency = createNetServer((s) => s.end());
    dependency.listen(port, '127.0.0.1', () => {
      port = (dependency!.address() as { port: number }).port;
      resolve();
    });
  });
/** Connects to the dependency: resolves when it accepts, rejects when nothing listens. */
const reach = () =>
  new Promise<void>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });

let url = '';
let close: () => Promise<void>;
beforeAll(async () => {
  await openDependency();
  const apollo = new ApolloServer({ schema: buildSchema('type Query { a: Int }') });
  await apollo.start();
  const server = createGraphQLHttpServer({
    apollo,
    context: async () => ({}),
    routes: healthRoutes(
      { store: reach, scheduler: { check: () => Promise.reject(new Error('down')), optional: true } },
      logger,
    ),
  });
  url = await listen(server, 0);
  close = async () => {
    await closeServer(server);
    await apollo.stop();
  };
});
afterAll(async () => {
  await close?.();
  await new Promise((r) => (dependency ? dependency.close(r) : r(undefined)));
});

const get = async (path: string) => {
  const res = await fetch(`${url}${path}`);
  return [res.status, await res.json()];
};

describe('/health and /ready', () => {
  it('ready while the required dependency answers; not ready while it is gone; ready again when it is back', async () => {
    expect(await get('/ready')).toEqual([200, { status: 'ready', checks: { store: 'ok', scheduler: 'unavailable' } }]);
    await new Promise((r) => dependency!.close(r));
    expect(await get('/ready')).toEqual([
      503,
      { status: 'unavailable', checks: { store: 'unavailable', scheduler: 'unavailable' } },
    ]);
    // Alive all along: liveness checks nothing but the process.
    expect(await get('/health')).toEqual([200, { status: 'ok' }]);
    await openDependency();
    expect(await get('/ready')).toEqual([200, { status: 'ready', checks: { store: 'ok', scheduler: 'unavailable' } }]);
  });
});
