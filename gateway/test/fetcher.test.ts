// The gateway's subgraph client (fetcher.ts) against real node:http servers on loopback: requests share one
// keep-alive socket, a reused socket the server closed is retried once on a new one, and a refused connection fails
// with its socket error as `cause` (what SubgraphDataSource logs before answering UPSTREAM_UNAVAILABLE).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSubgraphFetcher } from '../src/fetcher.ts';
import { freePort } from '../../infra/net.ts';

const servers: Server[] = [];
const clients: { close(): void }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await new Promise((r) => (s.closeAllConnections(), s.close(r)));
});

/** A server answering with `handler`, counting the sockets it accepted; resolves with its URL. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => handler(req, res, body));
  });
  server.on('connection', (s) => sockets.add(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, sockets };
}

const client = () => {
  const c = createSubgraphFetcher();
  clients.push(c);
  return c.fetcher;
};

describe('subgraph fetcher', () => {
  it('sends method, headers and body, and answers status, headers (any case, repeats joined) and JSON', async () => {
    const seen: { method?: string; auth?: string; type?: string; length?: string; body?: string }[] = [];
    const { url } = await serve((req, res, body) => {
      seen.push({
        method: req.method,
        auth: req.headers.authorization,
        type: req.headers['content-type'],
        length: req.headers['content-length'],
        body,
      });
      res.writeHead(200, [
        ['Content-Type', 'application/json'],
        ['X-Twice', 'a'],
        ['X-Twice', 'b'],
      ]);
      res.end('{"data":{"me":{"id":"é"}}}');
    });
    const body = '{"query":"{ me { id } }","x":"é"}';
    const res = await client()(url, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body,
    });
    expect(seen).toEqual([
      { method: 'POST', auth: 'Bearer t', type: 'application/json', length: String(Buffer.byteLength(body)), body },
    ]);
    expect([res.ok, res.status, res.url, res.headers.get('content-type'), res.headers.get('x-twice')]).toEqual([
      true,
      200,
      url,
      'application/json',
      'a, b',
    ]);
    expect(await res.json()).toEqual({ data: { me: { id: 'é' } } });
  });

  it('keeps one socket alive for requests one after another', async () => {
    let n = 0;
    const { url, sockets } = await serve((_req, res) => res.end(String(++n)));
    const fetcher = client();
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) answers.push(await (await fetcher(url, { method: 'POST', body: '{}' })).text());
    expect([answers, sockets.size]).toEqual([['1', '2', '3', '4', '5'], 1]);
  });

  it('answers a non-2xx status as is (ok false), for the data source to turn into its error', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(503, 'Busy', { 'content-type': 'text/plain' });
      res.end('later');
    });
    const res = await client()(url, { method: 'POST', body: '{}' });
    expect([res.ok, res.status, res.statusText, await res.text()]).toEqual([false, 503, 'Busy', 'later']);
  });

  it('sends a request again on a new socket when the reused one was closed by the server before answering', async () => {
    // Each socket answers its first request and is destroyed on its second, without an answer: what a subgraph
    // closing an idle keep-alive socket at the moment the gateway reuses it looks like.
    const served = new WeakMap<Socket, number>();
    let requests = 0;
    const { url, sockets } = await serve((req, res) => {
      requests++;
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      if (n > 1) return req.socket.destroy();
      res.end(`answer ${requests}`);
    });
    const fetcher = client();
    expect(await (await fetcher(url, { method: 'POST', body: '{}' })).text()).toBe('answer 1');
    expect(await (await fetcher(url, { method: 'POST', body: '{}' })).text()).toBe('answer 3');
    expect([requests, sockets.size]).toEqual([3, 2]);
  });

  it('fails with the socket error as cause when nothing listens', async () => {
    const url = `http://127.0.0.1:${await freePort()}/graphql`;
    await expect(client()(url, { method: 'POST', body: '{}' })).rejects.toMatchObject({
      message: `request to ${url} failed`,
      cause: { code: 'ECONNREFUSED' },
    });
  });
});
