/**
 * Headless Chromium for the browser tests: the system's Chromium (Debian's `chromium` package, which `.ci/run`
 * installs), driven by playwright-core, which downloads no browser of its own.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Executable names looked up on PATH, in order (Debian: `chromium`; Ubuntu and others: `chromium-browser`). */
const NAMES = ['chromium', 'chromium-browser'];

const isExecutable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The Chromium to run: `CHROMIUM_PATH` when set (it must be executable), else the first of `chromium`,
 * `chromium-browser` found on PATH; undefined when there is none.
 * @throws Error when CHROMIUM_PATH is set but names no executable file.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) {
    if (!isExecutable(env.CHROMIUM_PATH))
      throw new Error(`CHROMIUM_PATH=${env.CHROMIUM_PATH} is not an executable file.`);
    return env.CHROMIUM_PATH;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean))
    for (const name of NAMES) if (isExecutable(path.join(dir, name))) return path.join(dir, name);
  return undefined;
}

/** What to tell when no Chromium is found: what is missing and how to get it. */
export const CHROMIUM_MISSING =
  'The browser tests need Chromium, and none was found (CHROMIUM_PATH unset; no `chromium` or `chromium-browser` ' +
  "on PATH). Install Debian's package: `apt-get update && apt-get install -y chromium` as root (`sudo apt-get " +
  'install chromium` otherwise; .ci/run does it in CI), or set CHROMIUM_PATH to a Chromium or Chrome executable.';

/**
 * Launches `executablePath` headless (playwright-core; as root without Chromium's sandbox, which playwright-core
 * leaves off by default). Starts in about a second here.
 * @throws Error naming the executable and Chromium's own output when it does not start (a missing library, say).
 */
export async function launchChromium(executablePath: string): Promise<Browser> {
  try {
    return await chromium.launch({ executablePath, headless: true, timeout: 60_000 });
  } catch (e) {
    throw new Error(`Chromium (${executablePath}) did not start: ${(e as Error).message}`, { cause: e });
  }
}

/** One HTTP exchange of a page as Chromium's network service saw it (DevTools protocol), preflights included. */
export type SeenExchange = {
  method: string;
  url: string;
  /** DevTools' resource type of the response: `Preflight` for a CORS preflight, `Fetch` for `fetch()`, ... */
  type: string | undefined;
  /** Response status; undefined when no response came (e.g. blocked). */
  status: number | undefined;
  /** Response headers, names lower-cased. */
  headers: Record<string, string>;
};

/** One WebSocket of a page: its URL and the `Origin` header of its handshake. */
export type SeenWebSocket = { url: string; origin: string | undefined; status: number | undefined };

/** A page with what it logged and what went over its network. */
export type WatchedPage = {
  page: Page;
  /** Console messages, as `type: text`. */
  console: string[];
  /** HTTP exchanges in the order their requests were sent. */
  exchanges: SeenExchange[];
  webSockets: SeenWebSocket[];
};

const lower = (h: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), String(v)]));

/**
 * Opens `url` in a fresh context of `browser` and waits until `globalThis[ready]` is defined (the page script ran),
 * recording its console, uncaught errors and network from the start through the DevTools protocol (which, unlike
 * playwright's own request events, reports CORS preflights).
 * @throws Error with the page's console when the script has not defined `ready` within 15 s.
 */
export async function openWatchedPage(browser: Browser, url: string, ready: string): Promise<WatchedPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const watched: WatchedPage = { page, console: [], exchanges: [], webSockets: [] };
  page.on('console', (m) => watched.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => watched.console.push(`uncaught: ${e.name}: ${e.message}`));
  const cdp = await context.newCDPSession(page);
  const byId = new Map<string, SeenExchange>();
  const sockets = new Map<string, SeenWebSocket>();
  cdp.on('Network.requestWillBeSent', (e) => {
    const seen: SeenExchange = {
      method: e.request.method,
      url: e.request.url,
      type: undefined,
      status: undefined,
      headers: {},
    };
    // A redirect reuses the request id: keep each hop.
    byId.set(e.requestId, seen);
    watched.exchanges.push(seen);
  });
  cdp.on('Network.responseReceived', (e) => {
    const seen = byId.get(e.requestId);
    if (seen) Object.assign(seen, { type: e.type, status: e.response.status, headers: lower(e.response.headers) });
  });
  cdp.on('Network.webSocketCreated', (e) => {
    const s: SeenWebSocket = { url: e.url, origin: undefined, status: undefined };
    sockets.set(e.requestId, s);
    watched.webSockets.push(s);
  });
  cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => {
    const s = sockets.get(e.requestId);
    if (s) s.origin = lower(e.request.headers).origin;
  });
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
    const s = sockets.get(e.requestId);
    if (s) s.status = e.response.status;
  });
  await cdp.send('Network.enable');
  await page.goto(url);
  await page
    .waitForFunction((name) => (globalThis as Record<string, unknown>)[name] !== undefined, ready, { timeout: 15_000 })
    .catch((e: Error) => {
      throw new Error(`${url}: the page script did not define ${ready} (${e.message}); console: ${watched.console}`);
    });
  return watched;
}
