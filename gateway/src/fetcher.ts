/**
 * The gateway's HTTP client to its subgraphs: a `Fetcher` (the interface `RemoteGraphQLDataSource` calls) over
 * `node:http`/`node:https` with a keep-alive agent, in place of `@apollo/gateway`'s default `make-fetch-happen`.
 *
 * Why (issue 9, a CPU profile of the gateway under load): the default client builds each request through
 * make-fetch-happen, minipass-fetch and @npmcli/agent, whose `agent-base` reads `new Error().stack` twice per
 * request to guess whether it was called by `https` (expensive under source maps), and opened new connections while
 * under load. Here a request is one `http.request` on a pooled socket; the body is read whole and answered as the
 * small Response-like object the data source reads (`ok`, `status`, `headers.get`, `json()`, `text()`), its
 * headers a Map rather than a WHATWG `Headers`.
 */
import http from 'node:http';
import https from 'node:https';
import type { Fetcher, FetcherHeaders, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';

/** Sockets one gateway process keeps per subgraph origin, busy and idle alike (each request takes one). */
export const SUBGRAPH_MAX_SOCKETS = 256;

/**
 * How long a request to a subgraph may take before it fails (the subgraph then counts as unavailable), in
 * milliseconds: 5 minutes, longer than any bounded statement of a subgraph (a lake statement's own timeout is shorter).
 */
export const SUBGRAPH_REQUEST_TIMEOUT_MS = 300_000;

/** The Response-like answer of {@link createSubgraphFetcher}; the body is already read. */
class BufferedResponse implements FetcherResponse {
  bodyUsed = false;
  readonly redirected = false;
  readonly ok: boolean;
  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    readonly headers: ResponseHeaders,
    private readonly body: Buffer,
  ) {
    this.ok = status >= 200 && status < 300;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    return this.body.buffer.slice(this.body.byteOffset, this.body.byteOffset + this.body.byteLength) as ArrayBuffer;
  }
  async text(): Promise<string> {
    this.bodyUsed = true;
    return this.body.toString('utf8');
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
  clone(): FetcherResponse {
    return new BufferedResponse(this.url, this.status, this.statusText, this.headers, this.body);
  }
}

/**
 * The headers of a response (`FetcherHeaders`: names case-insensitive, repeated values joined with ", " as WHATWG
 * `Headers` does, `set-cookie` included — the gateway forwards none of them), read from Node's raw header list.
 */
class ResponseHeaders implements FetcherHeaders {
  private readonly map = new Map<string, string>();
  constructor(raw: readonly string[] = []) {
    for (let i = 0; i + 1 < raw.length; i += 2) this.append(raw[i]!, raw[i + 1]!);
  }
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const had = this.map.get(key);
    this.map.set(key, had === undefined ? value : `${had}, ${value}`);
  }
  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }
  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), value);
  }
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }
  keys(): IterableIterator<string> {
    return this.map.keys();
  }
  values(): IterableIterator<string> {
    return this.map.values();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.map.entries();
  }
}

/**
 * Creates the subgraph client: keep-alive agents without Nagle's delay (one for `http:`, one for `https:`; at most
 * {@link SUBGRAPH_MAX_SOCKETS} sockets per origin, the most recently used idle socket first), each request
 * bounded by {@link SUBGRAPH_REQUEST_TIMEOUT_MS}. A request whose reused idle socket turns out closed by the subgraph
 * (ECONNRESET before any answer: the subgraph's keep-alive timeout won the race) is sent once more on a new socket,
 * as Node's documentation advises; any other failure rejects with an Error whose `cause` is the socket error.
 * @returns the fetcher, and `close()` to end its sockets.
 */
export function createSubgraphFetcher(): { fetcher: Fetcher; close(): void } {
  // noDelay: a request is written whole; Nagle's algorithm would only delay it (undici, Node's fetch, does the same).
  const options = { keepAlive: true, maxSockets: SUBGRAPH_MAX_SOCKETS, scheduling: 'lifo' as const, noDelay: true };
  const agents = { http: new http.Agent(options), https: new https.Agent(options) };
  const send = (url: URL, init: FetcherRequestInit, retry: boolean): Promise<FetcherResponse> =>
    new Promise((resolve, reject) => {
      const body = init.body === undefined ? undefined : Buffer.from(init.body as string | Uint8Array);
      const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
      if (body) headers['content-length'] = String(body.length);
      const secure = url.protocol === 'https:';
      const req = (secure ? https : http).request(
        url,
        {
          method: init.method ?? 'GET',
          headers,
          agent: secure ? agents.https : agents.http,
          timeout: SUBGRAPH_REQUEST_TIMEOUT_MS,
          signal: init.signal as AbortSignal | undefined,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new Error(`reading the answer of ${url.href} failed`, { cause: e })));
          res.on('end', () =>
            resolve(
              new BufferedResponse(
                url.href,
                res.statusCode ?? 0,
                res.statusMessage ?? '',
                new ResponseHeaders(res.rawHeaders),
                chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
              ),
            ),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${SUBGRAPH_REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (retry && req.reusedSocket && e.code === 'ECONNRESET') return resolve(send(url, init, false));
        reject(new Error(`request to ${url.href} failed`, { cause: e }));
      });
      req.end(body);
    });
  const urls = new Map<string, URL>();
  return {
    fetcher: (url, init = {}) => {
      let parsed = urls.get(url);
      if (!parsed) {
        parsed = new URL(url);
        // The gateway calls a handful of subgraph URLs: parse each once.
        if (urls.size < 64) urls.set(url, parsed);
      }
      return send(parsed, init, true);
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
