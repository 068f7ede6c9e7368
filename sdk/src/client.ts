/**
 * `createDataPilotClient`: typed queries and mutations over HTTP (fetch), subscriptions over graphql-ws, one credential
 * kept fresh for both (session.ts), every failure a DataPilotClientError with one ErrorCode (errors.ts). Runs in Node
 * 20 (pass `webSocketImpl` from the `ws` package: Node 20 has no global WebSocket) and in browsers (global fetch and
 * WebSocket); it imports nothing of Node's.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { getOperationAST, print, type DocumentNode } from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import {
  DataPilotClientError,
  fromGraphQLErrors,
  fromHttpStatus,
  toClientError,
  WS_CLOSE,
  type GraphQLErrorShape,
} from './errors.ts';
import { TokenManager, type Session, type SessionChangeReason } from './session.ts';
import type { LakeRow, ResultRows, UploadHeaders } from './json.ts';
import {
  CompleteUploadDocument,
  CreateConversationDocument,
  CreateUploadDocument,
  LakeTableRowsDocument,
  LakeTablesDocument,
  LoginDocument,
  MeDocument,
  MessageDocument,
  MessageEventsDocument,
  CancelMessageDocument,
  OrganizationsDocument,
  PipelineRunDocument,
  PipelineRunEventsDocument,
  RefreshTokenDocument,
  SendMessageDocument,
  SignOutDocument,
  SignupDocument,
  SwitchOrganizationDocument,
  type AnswerFragment,
  type CreateUploadMutation,
  type LakeTableRowsQuery,
  type LoadMode,
  type MessageEventsSubscription,
  type RunFragment,
  type SignupInput,
  type UploadFormat,
} from './generated/graphql.ts';

/** Options of {@link createDataPilotClient}. Give at most one of `token`, `apiKey` and `credentials`. */
export type DataPilotClientOptions = {
  /** The gateway's GraphQL URL over HTTP, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string;
  /** Its graphql-ws URL; default `url` with `http` → `ws` (the gateway serves both on one path). */
  wsUrl?: string;
  /** An access token (JWT) to start with; with `refreshToken`, renewed before it expires. */
  token?: string;
  /** The refresh token of `token`'s session (single use: the client keeps the newest and tells `onSessionChange`). */
  refreshToken?: string;
  /** An API key (`dp_live_…`): sent as the bearer credential; the gateway exchanges and renews it itself. */
  apiKey?: string;
  /** Email and password: the client signs in at its first request, and again whenever its session cannot be renewed. */
  credentials?: { email: string; password: string };
  /** The fetch to use (default the global one). */
  fetch?: typeof fetch;
  /** A WebSocket constructor for subscriptions (default the global one; Node 20: `import WebSocket from 'ws'`). */
  webSocketImpl?: unknown;
  /**
   * How documents are sent: `text` (default) the document itself; `id` its persisted-document id only (`documentId`,
   * the SHA-256 of sdk/persisted-documents.json), as a gateway with trusted documents expects and any DataPilot
   * gateway accepts.
   */
  documentMode?: 'text' | 'id';
  /** Renew the access token when it expires within this many milliseconds (default 60 000). */
  refreshMarginMs?: number;
  /** How many times in a row a subscription reconnects after its socket closed (default 5; 4401 renews first). */
  resubscribeAttempts?: number;
  /** First pause before reconnecting a subscription, in milliseconds, doubled per attempt (default 500). */
  resubscribeDelayMs?: number;
  /** Headers sent with every HTTP request (e.g. `apollographql-client-name`). */
  headers?: Record<string, string>;
};

/** A listener of session changes: the new session (null once signed out) and why (see {@link SessionChangeReason}). */
export type SessionListener = (session: Session | null, reason: SessionChangeReason) => void;

/** Options of one subscription ({@link DataPilotClient.subscribe}). */
export type SubscribeOptions<TData, TVars> = {
  /** Variables for a subscription started again after a reconnect, from the last result received (default: the same). */
  resume?: (last: TData | undefined, variables: TVars) => TVars;
  /** Drops a result already seen (e.g. a resubscription's first result repeating the last one). */
  skip?: (result: TData, last: TData | undefined) => boolean;
};

/** One page of a table's rows ({@link DataPilotClient.tableRows}). */
export type TableRowsPage = Omit<NonNullable<LakeTableRowsQuery['lakeTable']>, 'rows'> & {
  rows: Omit<NonNullable<LakeTableRowsQuery['lakeTable']>['rows'], 'edges'> & {
    edges: { cursor: string; node: LakeRow }[];
  };
};

/** A message as {@link DataPilotClient.ask} streams it, its result rows typed. */
export type Answer = Omit<AnswerFragment, 'result'> & {
  result?: { columns: { name: string; type: string }[]; rows: ResultRows } | null;
};

/** One event of an answer ({@link DataPilotClient.ask}). */
export type AnswerEvent = Omit<MessageEventsSubscription['messageEvents'], 'message'> & { message: Answer };

/** What {@link DataPilotClient.upload} sends: a file's bytes and what it loads into. */
export type UploadInput = {
  /** The gold table it loads into (`^[a-z][a-z0-9_]{0,62}$`). */
  table: string;
  /** The file's name (1..255 characters). */
  fileName: string;
  /** The bytes; a string is sent as UTF-8. */
  body: Uint8Array | ArrayBuffer | Blob | string;
  /** Default: from `fileName`'s extension (`.csv`, `.json`, `.ndjson`/`.jsonl`, `.parquet`). */
  format?: UploadFormat;
  /** Default OVERWRITE. */
  mode?: LoadMode;
  /** Malformed records the load may skip (default 0). */
  maxBadRecords?: number;
  /** Called as bytes leave: bytes sent so far and the total, in bytes. */
  onProgress?: (sentBytes: number, totalBytes: number) => void;
};

/** What {@link createDataPilotClient} returns. */
export type DataPilotClient = ReturnType<typeof createDataPilotClient>;

/** `.csv` → CSV, `.json` → JSON, `.ndjson`/`.jsonl` → NDJSON, `.parquet` → PARQUET; undefined otherwise. */
export function formatOf(fileName: string): UploadFormat | undefined {
  const ext = /\.([a-z]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  const map: Record<string, UploadFormat> = {
    csv: 'CSV',
    json: 'JSON',
    ndjson: 'NDJSON',
    jsonl: 'NDJSON',
    parquet: 'PARQUET',
  };
  return ext ? map[ext] : undefined;
}

/** The persisted-document id the client preset embedded in a generated document (`__meta__.hash`). */
const idOf = (doc: DocumentNode) => (doc as { __meta__?: { hash?: string } }).__meta__?.hash;

/** The graphql-ws close codes after which a resubscription cannot succeed (a malformed or duplicate message). */
const HOPELESS_CLOSES = new Set([4400, 4406, 4409, 1009]);

/**
 * A typed client of the DataPilot gateway.
 *
 * Queries and mutations (`request`, and the named methods) go over HTTP with `Authorization: Bearer <credential>`;
 * subscriptions (`subscribe`, `followRun`, `ask`) over one graphql-ws socket with the credential in `connection_init`
 * (`{ authorization: "Bearer …" }`). The credential is an API key, or a session kept fresh: renewed before the access
 * token expires, and once more when a request is refused as UNAUTHENTICATED (HTTP 401) or a socket closes with 4401 —
 * one renewal at a time, shared by every caller (refresh tokens are single use). A subscription whose socket closes
 * (4401 after renewing, 1013, 4008, a lost connection) is started again, up to `resubscribeAttempts` times in a row;
 * `ask` resumes its answer with `afterSequence`, and `followRun` drops the states it already gave.
 * Every failure is thrown as a {@link DataPilotClientError}.
 */
export function createDataPilotClient(options: DataPilotClientOptions) {
  const given = [options.token, options.apiKey, options.credentials].filter((c) => c !== undefined).length;
  if (given > 1) throw new TypeError('createDataPilotClient: give at most one of token, apiKey and credentials.');
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const wsUrl = options.wsUrl ?? options.url.replace(/^http/, 'ws');
  const attemptsMax = options.resubscribeAttempts ?? 5;
  const delayMs = options.resubscribeDelayMs ?? 500;
  const listeners = new Set<SessionListener>();
  const printed = new WeakMap<DocumentNode, string>();

  /** The body of one request: the document's id or its text, its operation name and variables. */
  const payloadOf = (doc: DocumentNode, variables: unknown) => {
    const operationName = getOperationAST(doc)?.name?.value;
    const id = options.documentMode === 'id' ? idOf(doc) : undefined;
    if (id) return { documentId: id, operationName, variables };
    let query = printed.get(doc);
    if (query === undefined) printed.set(doc, (query = print(doc)));
    return { query, operationName, variables };
  };

  /** One POST; the answer's status and GraphQL body. @throws DataPilotClientError for a network or non-GraphQL failure. */
  async function post(
    doc: DocumentNode,
    variables: unknown,
    credential: string | undefined,
  ): Promise<{ status: number; data?: unknown; errors?: GraphQLErrorShape[] }> {
    let res: Response;
    try {
      res = await fetchImpl(options.url, {
        method: 'POST',
        headers: {
          ...options.headers,
          'content-type': 'application/json',
          accept: 'application/json',
          ...(credential ? { authorization: `Bearer ${credential}` } : {}),
        },
        body: JSON.stringify(payloadOf(doc, variables)),
      });
    } catch (e) {
      throw toClientError(e);
    }
    const text = await res.text();
    let body: { data?: unknown; errors?: GraphQLErrorShape[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw fromHttpStatus(res.status, text);
    }
    if (typeof body !== 'object' || body === null || (!('data' in body) && !Array.isArray(body.errors)))
      throw fromHttpStatus(res.status, text);
    return { status: res.status, ...body };
  }

  const tokens: TokenManager = new TokenManager(
    { apiKey: options.apiKey, token: options.token, refreshToken: options.token ? options.refreshToken : undefined },
    {
      refreshMarginMs: options.refreshMarginMs ?? 60_000,
      refresh: async (refreshToken) =>
        (await execute(RefreshTokenDocument, { refreshToken }, { credential: false })).refreshToken,
      login: options.credentials
        ? async () => (await execute(LoginDocument, options.credentials!, { credential: false })).login
        : undefined,
      onChange: (session, reason) => {
        for (const l of listeners) l(session, reason);
      },
    },
  );

  /**
   * Runs a query or mutation and answers its `data`.
   * @param opts.credential false: send none (the public sign-in mutations).
   * @throws DataPilotClientError: the first GraphQL error's code (a partial answer's `data` on the error), or the
   *   transport's. An UNAUTHENTICATED refusal (HTTP 401, or an UNAUTHENTICATED error of a query) is retried once after
   *   the session was renewed.
   */
  async function execute<TData, TVars>(
    doc: TypedDocumentNode<TData, TVars>,
    variables: TVars,
    opts: { credential?: boolean } = {},
  ): Promise<TData> {
    const withCredential = opts.credential !== false;
    const credential = withCredential ? await tokens.credential() : undefined;
    let answer = await post(doc, variables, credential);
    const refused =
      answer.status === 401 ||
      (getOperationAST(doc)?.operation === 'query' &&
        !!answer.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED'));
    if (credential && refused && (await tokens.recover(credential)))
      answer = await post(doc, variables, await tokens.credential());
    if (answer.errors?.length) throw fromGraphQLErrors(answer.errors, { status: answer.status, data: answer.data });
    if (answer.data === null || answer.data === undefined)
      throw fromHttpStatus(answer.status, 'The answer carries no data.');
    return answer.data as TData;
  }

  let ws: WsClient | null = null;
  /** The credential each socket connected with (per connection attempt), to renew after a 4401. */
  let socketCredential: string | undefined;
  const socket = (): WsClient =>
    (ws ??= createClient({
      url: wsUrl,
      webSocketImpl: options.webSocketImpl,
      lazy: true,
      // Reconnecting is this client's job (subscribe below): resubscriptions resume where they were.
      retryAttempts: 0,
      connectionParams: async () => {
        socketCredential = await tokens.credential();
        return socketCredential ? { authorization: `Bearer ${socketCredential}` } : {};
      },
    }));

  /**
   * Runs a subscription: its results as an async iterator (ended by the server's `complete`; `return()` stops it).
   * After its socket closes it is started again (see {@link createDataPilotClient}), with `opts.resume`'s variables.
   * @throws DataPilotClientError: a GraphQL error (e.g. NOT_FOUND, BAD_USER_INPUT) at once; a close after
   *   `resubscribeAttempts` attempts, or one that retrying cannot fix (4400, 4406, 4409, 1009; a 4401 that renewing
   *   cannot fix).
   */
  async function* subscribe<TData, TVars>(
    doc: TypedDocumentNode<TData, TVars>,
    variables: TVars,
    opts: SubscribeOptions<TData, TVars> = {},
  ): AsyncGenerator<TData, void, undefined> {
    let last: TData | undefined;
    let vars = variables;
    let attempts = 0;
    for (;;) {
      const payload = payloadOf(doc, vars);
      // graphql-ws wants a `query` string; by id it is empty and `documentId` names the document.
      const iterator = socket().iterate({ query: '', ...payload } as { query: string });
      try {
        for await (const result of iterator) {
          if (result.errors?.length)
            throw fromGraphQLErrors(result.errors as GraphQLErrorShape[], { data: result.data });
          attempts = 0;
          const data = result.data as TData;
          if (opts.skip?.(data, last)) continue;
          last = data;
          yield data;
        }
        return;
      } catch (e) {
        const err = toClientError(e);
        if (err.closeCode === undefined || HOPELESS_CLOSES.has(err.closeCode) || ++attempts > attemptsMax) throw err;
        if (err.closeCode === WS_CLOSE.UNAUTHORIZED) {
          if (!socketCredential || !(await tokens.recover(socketCredential))) throw err;
        } else {
          await new Promise((r) => setTimeout(r, delayMs * 2 ** (attempts - 1)));
        }
        if (opts.resume) vars = opts.resume(last, variables);
      } finally {
        await iterator.return?.();
      }
    }
  }

  /** One page of a table's rows; see the returned `tableRows`. */
  async function tableRows(name: string, page: { first?: number; after?: string | null } = {}): Promise<TableRowsPage> {
    const table = (await execute(LakeTableRowsDocument, { name, first: page.first, after: page.after })).lakeTable;
    if (!table) throw new DataPilotClientError('NOT_FOUND', `The table ${name} was not found.`);
    return table as TableRowsPage;
  }

  /** Keeps a sign-in's answer as the session (its tokens) and tells the listeners. */
  const signedIn = <T extends Session>(session: T, reason: SessionChangeReason): T => {
    tokens.set(session, reason);
    return session;
  };

  /** Sends `body` to a presigned URL with `PUT`, reporting progress (XMLHttpRequest in browsers, a stream in Node). */
  async function put(url: string, headers: UploadHeaders, body: Uint8Array, onProgress?: UploadInput['onProgress']) {
    const total = body.byteLength;
    const XHR = (globalThis as { XMLHttpRequest?: new () => XMLHttpRequestLike }).XMLHttpRequest;
    if (XHR && onProgress) {
      await new Promise<void>((resolve, reject) => {
        const xhr = new XHR();
        xhr.open('PUT', url);
        // Browsers set Content-Length themselves and refuse it as a header.
        for (const [k, v] of Object.entries(headers))
          if (k.toLowerCase() !== 'content-length') xhr.setRequestHeader(k, v);
        xhr.upload.onprogress = (e) => onProgress(e.loaded, total);
        xhr.onload = () =>
          xhr.status >= 200 && xhr.status < 300
            ? resolve()
            : reject(fromHttpStatus(xhr.status, `the object store refused the file: ${xhr.responseText}`));
        xhr.onerror = () =>
          reject(new DataPilotClientError('UPSTREAM_UNAVAILABLE', 'The upload did not reach the object store.'));
        xhr.send(body);
      });
      return;
    }
    // Without a progress callback the bytes go as they are. With one and no XMLHttpRequest (Node), they are streamed
    // in 64 KiB pieces, each reported as fetch takes it (browsers stream request bodies over HTTP/2 only: XHR there).
    const CHUNK = 64 * 1024;
    let offset = 0;
    const stream = onProgress
      ? new ReadableStream<Uint8Array>({
          pull(controller) {
            if (offset >= total) return controller.close();
            const chunk = body.subarray(offset, Math.min(offset + CHUNK, total));
            offset += chunk.byteLength;
            controller.enqueue(chunk);
            onProgress(offset, total);
          },
        })
      : null;
    let res: Response;
    try {
      // `duplex: 'half'` is what fetch requires of a streamed body (Fetch standard); Node sends the Content-Length given.
      res = await fetchImpl(
        url,
        stream
          ? ({ method: 'PUT', headers, body: stream, duplex: 'half' } as RequestInit)
          : { method: 'PUT', headers, body },
      );
    } catch (e) {
      throw toClientError(e);
    }
    if (!res.ok) throw fromHttpStatus(res.status, `the object store refused the file: ${await res.text()}`);
  }

  return {
    /** Runs a query or mutation (a generated typed document) with the client's credential; answers its `data`. */
    request: <TData, TVars>(doc: TypedDocumentNode<TData, TVars>, variables: TVars) => execute(doc, variables),
    subscribe,

    /** The current session (null: anonymous, or an API key is used). */
    get session(): Session | null {
      return tokens.current;
    },
    /**
     * Calls `listener` after every session change (sign-in, refresh, organization switch, sign-out). Clear a cache on
     * every reason but `refresh`, e.g. `client.onSessionChange((s, why) => why !== 'refresh' && apollo.clearStore())`.
     * @returns a function that removes the listener.
     */
    onSessionChange(listener: SessionListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** Signs in (`login`): the session becomes this user's, in the organization they joined first. */
    login: async (email: string, password: string) =>
      signedIn((await execute(LoginDocument, { email, password }, { credential: false })).login, 'signIn'),
    /** Creates an account (`signup`) and signs it in. */
    signup: async (input: SignupInput) =>
      signedIn((await execute(SignupDocument, { input }, { credential: false })).signup, 'signIn'),
    /** Renews the session now (normally automatic). @throws UNAUTHENTICATED without a session to renew. */
    refresh: async () => {
      await tokens.renew();
      return tokens.current;
    },
    /** Moves the session to another organization of the user (a new token pair); clear caches (`onSessionChange`). */
    switchOrganization: async (orgId: string) =>
      signedIn((await execute(SwitchOrganizationDocument, { orgId })).switchOrganization, 'switchOrganization'),
    /** Ends the session on the server (every token of it) and here. */
    signOut: async () => {
      await execute(SignOutDocument, {});
      tokens.set(null, 'signOut');
    },
    /** The caller: user, organization and current role. */
    me: async () => (await execute(MeDocument, {})).me,
    /** The caller's organizations, each with the role held there. */
    organizations: async () => (await execute(OrganizationsDocument, {})).organizations,

    /** The organization's gold tables, sorted by name, with version, row count and columns. */
    tables: async () => (await execute(LakeTablesDocument, {})).lakeTables,
    /**
     * One page of a table's rows (`first` 1..1000, default 50), after the cursor `after` (a previous page's
     * `rows.pageInfo.endCursor`). @throws NOT_FOUND for a table the organization does not have.
     */
    tableRows,
    /** Every row of a table, page after page (`pageSize` rows per request, default 500). */
    async *allRows(name: string, pageSize = 500): AsyncGenerator<LakeRow, void, undefined> {
      let after: string | null | undefined;
      for (;;) {
        const { rows } = await tableRows(name, { first: pageSize, after });
        for (const e of rows.edges) yield e.node;
        if (!rows.pageInfo.hasNextPage || !rows.pageInfo.endCursor) return;
        after = rows.pageInfo.endCursor;
      }
    },

    /**
     * Uploads a file: `createUpload` (announces it), `PUT` to the presigned URL (progress through `onProgress`),
     * `completeUpload` (starts its pipeline run).
     * @returns the upload and its run (`run.id` for {@link followRun}).
     * @throws DataPilotClientError BAD_USER_INPUT (no format from the name, a bad table name, …), RATE_LIMITED, or the
     *   object store's refusal by its HTTP status.
     */
    upload: async (input: UploadInput) => {
      const bytes =
        typeof input.body === 'string'
          ? new TextEncoder().encode(input.body)
          : input.body instanceof Uint8Array
            ? input.body
            : input.body instanceof ArrayBuffer
              ? new Uint8Array(input.body)
              : new Uint8Array(await input.body.arrayBuffer());
      const format = input.format ?? formatOf(input.fileName);
      if (!format)
        throw new DataPilotClientError(
          'BAD_USER_INPUT',
          `No format for ${input.fileName}: name it .csv, .json, .ndjson or .parquet, or give format.`,
        );
      const ticket: CreateUploadMutation['createUpload'] = (
        await execute(CreateUploadDocument, {
          input: {
            table: input.table,
            fileName: input.fileName,
            format,
            mode: input.mode,
            sizeBytes: bytes.byteLength,
            maxBadRecords: input.maxBadRecords,
          },
        })
      ).createUpload;
      await put(ticket.url, ticket.headers as UploadHeaders, bytes, input.onProgress);
      const upload = (await execute(CompleteUploadDocument, { id: ticket.upload.id })).completeUpload;
      return { ...upload, ticket };
    },
    /** One pipeline run as it is now. */
    run: async (id: string) => (await execute(PipelineRunDocument, { id })).pipelineRun,
    /**
     * Follows a pipeline run: the run as it is now, then at every change of its state or a task, ending after SUCCESS
     * or FAILED (`pipelineRunEvents`). A resubscription skips the states already given.
     */
    async *followRun(runId: string): AsyncGenerator<RunFragment, void, undefined> {
      for await (const e of subscribe(
        PipelineRunEventsDocument,
        { runId },
        { skip: (r, last) => !!last && r.pipelineRunEvents.sequence <= last.pipelineRunEvents.sequence },
      ))
        yield e.pipelineRunEvents.run;
    },

    /** Starts a conversation (private to the caller until shared). */
    createConversation: async (title: string) =>
      (await execute(CreateConversationDocument, { title })).createConversation,
    /** One message as stored. */
    message: async (id: string) => (await execute(MessageDocument, { id })).message as Answer | null | undefined,
    /**
     * Asks the analyst a question (`sendMessage`, in `conversationId` or a new conversation titled `title` or the
     * question) and streams its answer (`messageEvents`): TEXT_DELTA pieces, then SQL, RESULT and the final COMPLETE
     * or FAILED, each with the message as of that event. After a reconnect the stream resumes with `afterSequence`:
     * nothing lost or repeated.
     */
    ask: async (question: string, opts: { conversationId?: string; title?: string } = {}) => {
      const conversationId =
        opts.conversationId ??
        (await execute(CreateConversationDocument, { title: (opts.title ?? question).slice(0, 200) }))
          .createConversation.id;
      const sent = (await execute(SendMessageDocument, { conversationId, text: question })).sendMessage;
      const messageId = sent.assistantMessage.id;
      const events = subscribe(
        MessageEventsDocument,
        { messageId },
        { resume: (last, v) => ({ ...v, afterSequence: last?.messageEvents.sequence ?? 0 }) },
      );
      async function* answer(): AsyncGenerator<AnswerEvent, void, undefined> {
        for await (const e of events) yield e.messageEvents as AnswerEvent;
      }
      return { conversationId, questionId: sent.userMessage.id, messageId, events: answer() };
    },

    /**
     * Stops an answer being computed (`cancelMessage`): its Spark statement is interrupted and it ends FAILED with
     * `errorCode` CANCELLED. A final message comes back unchanged. Needs role ANALYST and the question to be the
     * caller's (or ADMIN).
     */
    cancel: async (messageId: string) =>
      (await execute(CancelMessageDocument, { id: messageId })).cancelMessage as Answer,

    /** Closes the socket (subscriptions end); HTTP needs no closing. */
    close: async () => {
      await ws?.dispose();
      ws = null;
    },
  };
}

/** The part of XMLHttpRequest the upload uses (the DOM's type is not part of this package's TypeScript libraries). */
type XMLHttpRequestLike = {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  upload: { onprogress: ((e: { loaded: number }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  status: number;
  responseText: string;
  send(body: Uint8Array): void;
};
