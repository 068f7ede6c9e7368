/**
 * Trusted documents (persisted documents): the gateway executes the operations of a manifest — the one
 * @datapilot/sdk's build writes, `sdk/persisted-documents.json`: document id (the SHA-256, hex, of the document's
 * normalized text) → that text — sent by id (`documentId` in the body, the form GraphQL Code Generator's client preset
 * uses, or Apollo's `extensions.persistedQuery.sha256Hash`) or in full, and refuses anything else with
 * PERSISTED_QUERY_NOT_FOUND. Rule from the GraphQL over HTTP "persisted documents" proposal and GraphQL Code
 * Generator's client preset (hash of `printExecutableGraphQLDocument`, @graphql-tools/documents).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { GraphQLError, parse } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { printExecutableGraphQLDocument } from '@graphql-tools/documents';
import { DataPilotError, PARSE_OPTIONS } from '@datapilot/common';

/** The SDK's manifest, the default of `GATEWAY_TRUSTED_DOCUMENTS` in production (written by `npm run sdk:generate`). */
export const SDK_MANIFEST_PATH = fileURLToPath(new URL('../../sdk/persisted-documents.json', import.meta.url));

/** The code of every refusal (packages/common/src/errors.ts: HTTP 400). */
const CODE = 'PERSISTED_QUERY_NOT_FOUND';

/**
 * The id of a document: the SHA-256 (hex) of its normalized text (`printExecutableGraphQLDocument`: definitions and
 * selections sorted, white space collapsed), exactly as the client preset hashes it.
 * @throws GraphQLError (a syntax error) when `text` does not parse.
 */
export function documentId(text: string): string {
  return sha256(printExecutableGraphQLDocument(parse(text, PARSE_OPTIONS)));
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** What a request asks to run: its text, an id, or both (one GraphQL request or one graphql-ws `subscribe`). */
export type DocumentRequest = { query?: unknown; documentId?: unknown; extensions?: unknown };

/**
 * A loaded manifest and how strictly it applies. Answers, for one request, the text to execute or the refusal.
 */
export type TrustedDocuments = {
  /** True: only the manifest's documents run (by id or in full). False: any text runs, ids are looked up. */
  readonly enforce: boolean;
  /** How many documents the manifest holds. */
  readonly size: number;
  /**
   * The text to execute for `request`, or the refusal (a PERSISTED_QUERY_NOT_FOUND error):
   * - a text → itself when not enforcing; when enforcing, the manifest's text of the same id (so the normalized text
   *   that was approved is what runs), or refused. A text decides when sent with an id (as Apollo Client's automatic
   *   persisted queries send a text with the hash of its own unnormalized form);
   * - no text, an id (`documentId`, optionally prefixed `sha256:`, or `extensions.persistedQuery.sha256Hash`) → the
   *   manifest's text; an unknown id is refused, enforcing or not;
   * - neither → nothing to change (`{}`): the server answers its own error for a request without a document.
   */
  resolve(request: DocumentRequest): { query?: string } | { error: GraphQLError };
};

/** `GATEWAY_TRUSTED_DOCUMENTS` as the gateway applies it: a manifest file and whether it is enforced. */
export type TrustedDocumentsSetting = { manifestPath: string; enforce: boolean };

/**
 * What `GATEWAY_TRUSTED_DOCUMENTS` means:
 * - a path: that manifest, enforced;
 * - `off`: not enforced; ids sent by a client are still looked up in the SDK's manifest ({@link SDK_MANIFEST_PATH});
 * - unset: in production the SDK's manifest, enforced; in development not enforced (as `off`), so that the Sandbox
 *   and ad-hoc queries run, and SDK clients that send ids work too.
 */
export function trustedDocumentsSetting(value: string | undefined, production: boolean): TrustedDocumentsSetting {
  if (value === 'off') return { manifestPath: SDK_MANIFEST_PATH, enforce: false };
  if (value) return { manifestPath: value, enforce: true };
  return { manifestPath: SDK_MANIFEST_PATH, enforce: production };
}

/**
 * Reads and checks a manifest: a JSON object whose keys are the SHA-256 (hex) of their values, the documents' texts.
 * @throws Error naming the file, when it cannot be read (only when `enforce`: an unenforced manifest that is missing
 *   is empty, so ids answer PERSISTED_QUERY_NOT_FOUND) or is not such an object — a key that is not its document's
 *   hash means the file was edited by hand or damaged.
 */
export async function loadTrustedDocuments(setting: TrustedDocumentsSetting): Promise<TrustedDocuments> {
  let text: string;
  try {
    text = await readFile(setting.manifestPath, 'utf8');
  } catch (e) {
    if (!setting.enforce) return createTrustedDocuments({}, false);
    throw new Error(
      `GATEWAY_TRUSTED_DOCUMENTS: cannot read the manifest ${setting.manifestPath} ` +
        `(${(e as Error).message}); run \`npm run sdk:generate\`, or set GATEWAY_TRUSTED_DOCUMENTS=off.`,
    );
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new Error(`GATEWAY_TRUSTED_DOCUMENTS: ${setting.manifestPath} is not JSON.`);
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest))
    throw new Error(`GATEWAY_TRUSTED_DOCUMENTS: ${setting.manifestPath} must be an object of id → document.`);
  for (const [id, doc] of Object.entries(manifest)) {
    if (typeof doc !== 'string' || sha256(doc) !== id)
      throw new Error(
        `GATEWAY_TRUSTED_DOCUMENTS: in ${setting.manifestPath}, "${id}" is not the SHA-256 of its document.`,
      );
  }
  return createTrustedDocuments(manifest as Record<string, string>, setting.enforce);
}

/** {@link TrustedDocuments} over `manifest` (id → normalized text, checked by the caller). */
export function createTrustedDocuments(manifest: Readonly<Record<string, string>>, enforce: boolean): TrustedDocuments {
  const byId = new Map(Object.entries(manifest));
  const refuse = (message: string) => ({ error: new DataPilotError(CODE, message) });
  return {
    enforce,
    size: byId.size,
    resolve(request) {
      const query = typeof request.query === 'string' && request.query !== '' ? request.query : undefined;
      if (query !== undefined) {
        if (!enforce) return { query };
        const doc = byId.get(safeId(query) ?? '');
        if (doc === undefined)
          return refuse(
            'This gateway runs only trusted documents (those of its manifest); this one is not among them.',
          );
        return { query: doc };
      }
      const id = requestedId(request);
      // Neither: Apollo Server (or graphql-ws) answers its own "must contain a query" error.
      if (id === undefined) return {};
      const doc = byId.get(id);
      if (doc === undefined) return refuse(`No persisted document has the id "${id.slice(0, 80)}".`);
      return { query: doc };
    },
  };
}

/** The id of `text`, or undefined when it does not parse (then no manifest entry has it). */
function safeId(text: string): string | undefined {
  try {
    return documentId(text);
  } catch {
    return undefined;
  }
}

/** The id a request names: `documentId` (a `sha256:` prefix is dropped) or `extensions.persistedQuery.sha256Hash`. */
function requestedId(request: DocumentRequest): string | undefined {
  if (typeof request.documentId === 'string' && request.documentId !== '')
    return request.documentId.replace(/^sha256:/, '');
  const apq = (request.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery;
  return typeof apq?.sha256Hash === 'string' ? apq.sha256Hash : undefined;
}

/** What Apollo Server parses for a refused request before the plugin refuses it (it runs no resolver). */
const REFUSED_STAND_IN = '{ __typename }';

/**
 * Apollo Server plugin applying `documents` to every HTTP request, before Apollo Server looks at the text (its
 * `requestDidStart` runs first): the request's text becomes {@link TrustedDocuments.resolve}'s, and Apollo's
 * automatic-persisted-query extension is removed (the gateway keeps APQ off). A refusal answers HTTP 400 with
 * PERSISTED_QUERY_NOT_FOUND before anything of the request's own document is parsed or run. `documentId` is read from a POST body or a GET query string.
 * Operations executed in-process (`executeOperation`, no HTTP request) are the gateway's own and pass as they are.
 */
export function useTrustedDocuments(documents: TrustedDocuments): ApolloServerPlugin {
  return {
    async requestDidStart({ request }) {
      const http = request.http;
      if (!http) return;
      const fromBody = (http.body as { documentId?: unknown } | null | undefined)?.documentId;
      const fromSearch = http.method === 'GET' ? new URLSearchParams(http.search).get('documentId') : null;
      const resolved = documents.resolve({
        query: request.query,
        documentId: fromBody ?? fromSearch ?? undefined,
        extensions: request.extensions,
      });
      if (request.extensions?.persistedQuery) {
        const { persistedQuery: _p, ...rest } = request.extensions;
        request.extensions = rest;
      }
      if ('error' in resolved) {
        // An error thrown here would be an "Internal server error" (HTTP 500); Apollo Server answers one thrown at
        // didResolveOperation with its code and status. Until then it parses and validates this stand-in.
        const refusal = (resolved.error as DataPilotError).asRequestError();
        request.query = REFUSED_STAND_IN;
        return {
          async didResolveOperation() {
            throw refusal;
          },
        };
      }
      if (resolved.query !== undefined) request.query = resolved.query;
    },
  };
}
