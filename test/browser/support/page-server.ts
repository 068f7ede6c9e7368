/**
 * The test page of the browser tests: its script (page/app.ts) bundled for browsers by esbuild, served with a one-line
 * HTML document by a plain node:http server, so that the page has an origin of its own (`http://<host>:<port>`),
 * different from the gateway's.
 */
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { closeServer, listen } from '@datapilot/common';

/** The page's entry point. */
export const PAGE_ENTRY = fileURLToPath(new URL('../page/app.ts', import.meta.url));

/**
 * Bundles `entry` (default {@link PAGE_ENTRY}) with everything it imports (the SDK, graphql-js, the graphql-ws client;
 * about 110 KB, 22 KB gzipped) into one ES module for current browsers (esbuild, `platform: 'browser'`, as a web
 * app's build would). In memory, nothing written; about 0.2-0.3 s.
 * @returns the module's source text.
 * @throws esbuild's error (with file and line) when the entry or an import does not build.
 */
export async function bundlePage(entry = PAGE_ENTRY): Promise<string> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

/** A running page server; see {@link servePage}. */
export type PageServer = {
  /** The page's origin, `http://<host>:<port>` with the host the browser is to use. */
  origin: string;
  close(): Promise<void>;
};

/**
 * Serves the page on a free port of 127.0.0.1: `GET /` answers an HTML document that loads `/app.js` as a module
 * (and names an empty icon, so that the browser asks for no `/favicon.ico`), `GET /app.js` answers `script`,
 * anything else 404.
 * @param host the host name of {@link PageServer.origin} (default `127.0.0.1`; `localhost` gives the same socket
 *   another origin).
 */
export async function servePage(script: string, host = '127.0.0.1'): Promise<PageServer> {
  const html =
    '<!doctype html><html><head><title>DataPilot page</title><link rel="icon" href="data:,"></head><body>' +
    '<script type="module" src="/app.js"></script></body></html>';
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/')
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
    else if (req.method === 'GET' && path === '/app.js')
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(script);
    else res.writeHead(404).end();
  });
  const url = await listen(server, 0);
  return { origin: `http://${host}:${new URL(url).port}`, close: () => closeServer(server) };
}
