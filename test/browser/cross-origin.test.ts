// A web page served from another origin than the gateway's calls the API in a real browser (issue 7, "Done when":
// headless Chromium, Debian's `chromium`, driven by playwright-core). The stack is small and real: the auth and chat
// subgraphs in this process on one fresh PostgreSQL database, the chat subgraph's lake on the test run's S3Proxy and
// Spark Connect (penguins written by Spark for the signed-up organization), and a gateway composed from the
// subgraphs' SDL that allows ONE page origin (`CORS_ORIGINS`, parsed as the gateway's config parses it). The page
// (page/app.ts, bundled by esbuild with @datapilot/sdk) runs a query (the SDK over the browser's fetch) and a
// subscription (the SDK over graphql-ws and the browser's WebSocket); the test reads what the page reports and what
// went over Chromium's network (DevTools protocol), and compares with values written here by hand (the email and organization signed up with) or counted from the source file (penguins per species).
// The same page from an origin not in the list is refused by the browser (its preflight answers 403).
//
// Without a Chromium the file is skipped with a message saying how to install one, except in CI (`CI` set, as
// .ci/run does), where that fails the run: .ci/run installs Debian's `chromium`.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createServiceAuthenticator, parseCorsOrigins } from '@datapilot/common';
import { createLake, type Lake } from '@datapilot/lake-core';
import { createChatServer, migrateChatSchema, type ChatServer } from '@datapilot/chat';
import { startAuth, SIGNUP, gql } from '../../subgraphs/auth/test/helpers.ts';
import { createDemoLake, type DemoLake } from '../../subgraphs/chat/test/support/demo-lake.ts';
import { readDemoFile } from '../../subgraphs/chat/test/support/demo-catalog.ts';
import { freePort } from '../../infra/net.ts';
import { exchangeWithAuth, withApiKeys } from '../../gateway/src/api-keys.ts';
import { supergraphFromDefs } from '../../gateway/src/compose.ts';
import { createGatewayServer } from '../../gateway/src/server.ts';
import { loadSubgraphDefs } from '../../scripts/lib/subgraphs.ts';
import {
  CHROMIUM_MISSING,
  findChromium,
  launchChromium,
  openWatchedPage,
  type SeenExchange,
} from './support/chromium.ts';
import { bundlePage, servePage, type PageServer } from './support/page-server.ts';
import type { PageHarness } from './page/app.ts';

const CHROMIUM = findChromium();
/** Under CI (`CI` set and not `false`/`0`, as .ci/run sets it) a missing Chromium fails the run. */
const IN_CI = !!process.env.CI && !/^(false|0)$/i.test(process.env.CI);
if (!CHROMIUM) {
  if (IN_CI) throw new Error(`${CHROMIUM_MISSING} (CI is set: the browser tests must run.)`);
  process.stderr.write(`[browser tests skipped] ${CHROMIUM_MISSING}\n`);
}

const logger = createLogger('browser-test', 'error');
const EMAIL = `browser-${randomUUID().slice(0, 8)}@example.org`;
const PASSWORD = 'a long enough password 2026';
const ORG_NAME = 'Browser Org';
const QUESTION = 'How many penguins are there of each species?';
/** Rows per species in penguins.json, counted here, most first: the result the page must receive. */
const SPECIES_COUNTS = (() => {
  const counts = new Map<string, number>();
  for (const r of readDemoFile('penguins.json'))
    counts.set(String(r.species), (counts.get(String(r.species)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
})();

let auth: Awaited<ReturnType<typeof startAuth>>;
let chatPool: pg.Pool;
let demo: DemoLake;
let lake: Lake;
let chat: ChatServer;
let gateway: { url: string; close(): Promise<void> };
/** The page on the origin the gateway allows (`http://localhost:<port>`; the gateway is on 127.0.0.1). */
let allowed: PageServer;
/** The same page on an origin the gateway does not allow (`http://127.0.0.1:<another port>`). */
let refused: PageServer;
let browser: Browser;
let gw: string;
let token: string;

/** The page's exchanges with the gateway's GraphQL URL: the CORS preflight and the POST it guarded (each once). */
function toGateway(exchanges: SeenExchange[]) {
  const mine = exchanges.filter((x) => x.url === gw);
  expect(mine.map((x) => x.method).sort()).toEqual(['OPTIONS', 'POST']);
  const preflight = mine.find((x) => x.method === 'OPTIONS' && x.type === 'Preflight');
  return { preflight, post: mine.find((x) => x.method === 'POST') };
}

describe.skipIf(!CHROMIUM)('a page from another origin, in headless Chromium', () => {
  beforeAll(async () => {
    auth = await startAuth();
    // Chat on the same database, as its runtime role (row-level security binds it as in production).
    await migrateChatSchema(auth.pool);
    chatPool = new pg.Pool({ connectionString: await auth.db.urlAs('datapilot_chat'), max: 4 });
    demo = await createDemoLake();
    lake = createLake({ spark: demo.spark, store: demo.store });
    chat = await createChatServer({
      pool: chatPool,
      lake,
      authenticator: createServiceAuthenticator(auth.server.jwksUrl),
      port: 0,
      logger,
      streamDelayMs: 5,
    });

    const script = await bundlePage();
    allowed = await servePage(script, 'localhost');
    refused = await servePage(script, '127.0.0.1');

    // lake and graph are not running: nothing asked here is theirs.
    const dead = `http://127.0.0.1:${await freePort()}/graphql`;
    gateway = await createGatewayServer({
      supergraph: supergraphFromDefs(
        await loadSubgraphDefs({
          auth: auth.server.graphqlUrl,
          chat: `${chat.url}/graphql`,
          chatWs: chat.wsUrl,
          lake: dead,
          lakeWs: dead.replace('http', 'ws'),
          graph: dead,
        }),
      ),
      authenticator: withApiKeys(
        createServiceAuthenticator(auth.server.jwksUrl),
        exchangeWithAuth(auth.server.graphqlUrl),
      ),
      port: 0,
      logger,
      // As an operator writes CORS_ORIGINS: the allowed page's origin alone.
      cors: parseCorsOrigins(allowed.origin),
    });
    gw = `${gateway.url}/graphql`;

    const signup = await gql(gw, SIGNUP, { input: { email: EMAIL, password: PASSWORD, orgName: ORG_NAME } });
    expect(signup.errors).toBeUndefined();
    token = signup.data!.signup.accessToken;
    await demo.write(signup.data!.signup.organization.id, ['penguins']);

    browser = await launchChromium(CHROMIUM!);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await allowed?.close();
    await refused?.close();
    await chat?.close();
    await lake?.close();
    await demo?.cleanup();
    await chatPool?.end();
    await auth?.stop();
  });

  it('runs a query through the gateway, after a CORS preflight the gateway answers for its origin', async () => {
    const { page, exchanges } = await openWatchedPage(browser, `${allowed.origin}/`, 'pageHarness');
    const origin = await page.evaluate(
      () => (globalThis as unknown as { pageHarness: PageHarness }).pageHarness.origin,
    );
    // Another origin than the gateway's: other host name and port.
    expect(origin).toBe(allowed.origin);
    expect(new URL(gw).origin).not.toBe(origin);

    const me = await page.evaluate(
      ([url, t]) => (globalThis as unknown as { pageHarness: PageHarness }).pageHarness.me(url!, t!),
      [gw, token],
    );
    expect(me).toEqual({ ok: true, value: { email: EMAIL, organizationName: ORG_NAME } });

    // The browser asked first (the POST carries Authorization and a JSON body) and was let in by name.
    const { preflight, post } = toGateway(exchanges);
    expect([preflight?.status, post?.type, post?.status]).toEqual([204, 'Fetch', 200]);
    expect(preflight!.headers).toMatchObject({
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
    });
    expect(preflight!.headers['access-control-allow-headers']).toMatch(/\bauthorization\b.*\bcontent-type\b/);
    expect(post!.headers['access-control-allow-origin']).toBe(origin);
    await page.context().close();
  }, 60_000);

  it('follows an answer over a graphql-ws subscription through the gateway to its end', async () => {
    const { page, webSockets } = await openWatchedPage(browser, `${allowed.origin}/`, 'pageHarness');
    const asked = await page.evaluate(
      ([url, t, q]) => (globalThis as unknown as { pageHarness: PageHarness }).pageHarness.ask(url!, t!, q!),
      [gw, token, QUESTION],
    );
    if (!asked.ok) throw new Error(`the page failed: ${JSON.stringify(asked.error)}`);
    const { messageId, events } = asked.value;

    // One socket, to the gateway, opened by the page's origin.
    expect(webSockets).toEqual([{ url: gw.replace('http', 'ws'), origin: allowed.origin, status: 101 }]);
    // Every event from the first, each once, in order: STATUS (to STREAMING), a status line, PLAN, SQL, RESULT,
    // CHART, the text in pieces, COMPLETE.
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    const kinds = events.map((e) => e.kind);
    expect(kinds.slice(0, 6)).toEqual(['STATUS', 'STATUS', 'PLAN', 'SQL', 'RESULT', 'CHART']);
    expect(kinds.at(-1)).toBe('COMPLETE');
    expect(new Set(kinds.slice(6, -1))).toEqual(new Set(['TEXT_DELTA']));
    expect(new Set(events.map((e) => e.message.id))).toEqual(new Set([messageId]));
    const final = events.at(-1)!.message;
    expect(final.status).toBe('COMPLETE');
    expect(final.result?.rows).toEqual(SPECIES_COUNTS);
    expect(final.text).toBe(
      `The number of rows per species in penguins: ${SPECIES_COUNTS.map(([s, n]) => `${s}: ${n}`).join(', ')}.`,
    );
    // What streamed is what chat stored (read with SQL as the table owner).
    expect(events.map((e) => e.textDelta ?? '').join('')).toBe(final.text);
    const stored = await auth.pool.query('SELECT status, text FROM chat.messages WHERE id = $1', [messageId]);
    expect(stored.rows).toEqual([{ status: 'COMPLETE', text: final.text }]);
    await page.context().close();
  }, 120_000);

  it('is refused by the browser when its origin is not allowed, though the gateway itself answers', async () => {
    const { page, exchanges, console: logged } = await openWatchedPage(browser, `${refused.origin}/`, 'pageHarness');
    const me = await page.evaluate(
      ([url, t]) => (globalThis as unknown as { pageHarness: PageHarness }).pageHarness.me(url!, t!),
      [gw, token],
    );
    // The browser's fetch failed (Chromium says no more to a script), which the SDK reports as unreachable.
    expect(me.ok ? me : [me.error.code, me.error.cause]).toEqual([
      'UPSTREAM_UNAVAILABLE',
      'TypeError: Failed to fetch',
    ]);
    // The preflight was refused (403, no CORS headers) and the POST never left the browser with an answer.
    const { preflight, post } = toGateway(exchanges);
    expect([preflight?.status, preflight?.headers['access-control-allow-origin']]).toEqual([403, undefined]);
    expect([post?.type, post?.status]).toEqual([undefined, undefined]);
    expect(logged.some((l) => l.includes(`from origin '${refused.origin}' has been blocked by CORS policy`))).toBe(
      true,
    );
    await page.context().close();

    // The control: outside a browser, the same request with that Origin is answered, without CORS headers. So it
    // is the missing Access-Control-Allow-Origin that stops a browser page, not the request itself.
    const res = await fetch(gw, {
      method: 'POST',
      headers: { origin: refused.origin, 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { user { email } } }' }),
    });
    expect([res.status, res.headers.get('access-control-allow-origin'), ((await res.json()) as any).data]).toEqual([
      200,
      null,
      { me: { user: { email: EMAIL } } },
    ]);
  }, 60_000);
});
