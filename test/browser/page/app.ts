// The script of the test page (test/browser/cross-origin.test.ts): bundled for the browser by esbuild
// (support/page-server.ts) with @datapilot/sdk and what it imports (graphql-js, the graphql-ws browser client), and
// run in headless Chromium from another origin than the gateway's. It exposes `globalThis.pageHarness`
// ({@link PageHarness}), which the test calls with `page.evaluate`; every call answers plain JSON (what the page saw,
// or the error it was given), so that the test asserts in Node. The SDK runs as a web app would run it: the
// browser's own fetch and WebSocket, no options beyond the URL and the token.
import { createDataPilotClient, type DataPilotClientError } from '@datapilot/sdk';

/** The page's own origin (a browser global; declared here so that the repository keeps Node's types only). */
declare const location: { origin: string };

/**
 * An error as the page caught it: the SDK's error code (a `DataPilotClientError`'s `code`), its message, and the
 * error it wraps (`cause`, e.g. the browser's `TypeError: Failed to fetch`), each as `Name: message`.
 */
export type PageError = { code: string | undefined; message: string; cause: string | undefined };

/** What a call saw: its value, or the error. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: PageError };

/** One `messageEvents` event as the page received it (the fields the test checks). */
export type PageEvent = {
  sequence: number;
  kind: string;
  textDelta: string | null;
  message: { id: string; status: string; text: string; sql: string | null; result: { rows: unknown[][] } | null };
};

/** The calls the test makes in the page. `url` is the gateway's GraphQL URL (`http://host:port/graphql`). */
export type PageHarness = {
  /** `location.origin` of the page. */
  origin: string;
  /** The SDK's `me()` (`me { role user { id email } organization { id name } }`) with `token`. */
  me(url: string, token: string): Promise<Outcome<{ email: string; organizationName: string }>>;
  /**
   * The SDK's `ask(question)`: a new conversation, `sendMessage`, then every `messageEvents` event until the
   * server completes the subscription (after COMPLETE or FAILED). The assistant message's id and the events.
   */
  ask(url: string, token: string, question: string): Promise<Outcome<{ messageId: string; events: PageEvent[] }>>;
};

const describeError = (e: unknown) => {
  const err = e as Error | undefined;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(e);
};

/** Runs `fn`, turning a throw into `{ ok: false, error }` (errors do not cross `page.evaluate` intact). */
async function outcome<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    const err = e as Partial<DataPilotClientError> & { cause?: unknown };
    return {
      ok: false,
      error: {
        code: err?.code,
        message: describeError(e),
        cause: err?.cause === undefined ? undefined : describeError(err.cause),
      },
    };
  }
}

const harness: PageHarness = {
  origin: location.origin,
  me: (url, token) =>
    outcome(async () => {
      const me = await createDataPilotClient({ url, token }).me();
      return { email: me.user.email, organizationName: me.organization.name };
    }),
  ask: (url, token, question) =>
    outcome(async () => {
      const client = createDataPilotClient({ url, token });
      try {
        const answer = await client.ask(question, { title: 'From the browser' });
        const events: PageEvent[] = [];
        for await (const e of answer.events)
          events.push({
            sequence: e.sequence,
            kind: e.kind,
            textDelta: e.textDelta ?? null,
            message: {
              id: e.message.id,
              status: e.message.status,
              text: e.message.text,
              sql: e.message.sql ?? null,
              result: e.message.result ? { rows: e.message.result.rows as unknown[][] } : null,
            },
          });
        return { messageId: answer.messageId, events };
      } finally {
        await client.close();
      }
    }),
};

(globalThis as { pageHarness?: PageHarness }).pageHarness = harness;
