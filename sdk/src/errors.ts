/**
 * Every failure the SDK reports is a {@link DataPilotClientError} carrying one {@link ErrorCode} — the server's codes
 * (`ERROR_HTTP_STATUS` of @datapilot/common, generated into ./generated/error-codes.ts) — whatever the transport said:
 * a GraphQL error's `extensions.code`, an HTTP status without a GraphQL body, a WebSocket close code, a network
 * failure. Branch on `code`, never on the message (README, "Errors and tokens").
 */
import { ERROR_CODES, ERROR_HTTP_STATUS, WS_CLOSE, type ErrorCode } from './generated/error-codes.ts';

export { ERROR_CODES, ERROR_HTTP_STATUS, WS_CLOSE, type ErrorCode };

/** A GraphQL error as it arrives in a response (GraphQL over HTTP) or a graphql-ws `error`/`next` message. */
export type GraphQLErrorShape = {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { code?: unknown; [key: string]: unknown };
};

/**
 * Apollo Server's own codes for a malformed request (the README lists them beside the table): a client error, so
 * BAD_USER_INPUT; the original stays in {@link DataPilotClientError.serverCode}.
 */
const REQUEST_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** Whether `code` is one of DataPilot's {@link ErrorCode}s. */
export const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);

/**
 * The code an HTTP status stands for when the body says nothing (a proxy's 502, a bare 401): the first code of
 * ERROR_HTTP_STATUS with that status; other 4xx BAD_USER_INPUT; 502 UPSTREAM_UNAVAILABLE; other 5xx INTERNAL.
 */
export function codeOfHttpStatus(status: number): ErrorCode {
  const exact = ERROR_CODES.find((c) => ERROR_HTTP_STATUS[c] === status);
  if (exact) return exact;
  if (status === 502) return 'UPSTREAM_UNAVAILABLE';
  return status >= 400 && status < 500 ? 'BAD_USER_INPUT' : 'INTERNAL';
}

/**
 * The code a WebSocket close stands for: 4401 (`WS_CLOSE.UNAUTHORIZED`) UNAUTHENTICATED; 1013
 * (`WS_CLOSE.UPSTREAM_UNAVAILABLE`) UPSTREAM_UNAVAILABLE; 4008 (`WS_CLOSE.SLOW_CONSUMER`, the client fell too far
 * behind) RATE_LIMITED; graphql-ws's protocol refusals (4400 bad message, 4406 subprotocol, 4409 duplicate id) and
 * 1009 (a message over 1 MiB) BAD_USER_INPUT; anything else (1001 going away, 1006 connection lost, …)
 * UPSTREAM_UNAVAILABLE.
 */
export function codeOfClose(code: number): ErrorCode {
  if (code === WS_CLOSE.UNAUTHORIZED) return 'UNAUTHENTICATED';
  if (code === WS_CLOSE.SLOW_CONSUMER) return 'RATE_LIMITED';
  if (code === WS_CLOSE.UPSTREAM_UNAVAILABLE) return 'UPSTREAM_UNAVAILABLE';
  if (code === 4400 || code === 4406 || code === 4409 || code === 1009) return 'BAD_USER_INPUT';
  return 'UPSTREAM_UNAVAILABLE';
}

/** What {@link DataPilotClientError} carries besides its code and message. */
export type ClientErrorDetails = {
  /** The HTTP status of the answer, when there was one. */
  status?: number;
  /** The WebSocket close code, when a socket closed. */
  closeCode?: number;
  /** `extensions.code` as the server sent it, when it is not an {@link ErrorCode} (e.g. GRAPHQL_VALIDATION_FAILED). */
  serverCode?: string;
  /** Every GraphQL error of the answer, as received. */
  errors?: readonly GraphQLErrorShape[];
  /** The answer's `data` next to the errors (a partial answer), when any. */
  data?: unknown;
  /** Seconds to wait before retrying (`extensions.retryAfterSeconds` of RATE_LIMITED). */
  retryAfterSeconds?: number;
  cause?: unknown;
};

/** The one error type of the SDK: a DataPilot {@link ErrorCode}, a message safe to show, and what the server said. */
export class DataPilotClientError extends Error {
  readonly code: ErrorCode;
  readonly status?: number;
  readonly closeCode?: number;
  readonly serverCode?: string;
  readonly errors?: readonly GraphQLErrorShape[];
  readonly data?: unknown;
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, message: string, details: ClientErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DataPilotClientError';
    this.code = code;
    this.status = details.status;
    this.closeCode = details.closeCode;
    this.serverCode = details.serverCode;
    this.errors = details.errors;
    this.data = details.data;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/**
 * The error of a GraphQL answer with `errors`: the first error's code — a DataPilot code as it is, Apollo's request
 * codes as BAD_USER_INPUT, none by the HTTP status (200: INTERNAL).
 */
export function fromGraphQLErrors(
  errors: readonly GraphQLErrorShape[],
  details: { status?: number; data?: unknown } = {},
): DataPilotClientError {
  const first = errors[0];
  const raw = first?.extensions?.code;
  let code: ErrorCode;
  if (isErrorCode(raw)) code = raw;
  else if (typeof raw === 'string' && REQUEST_CODES.has(raw)) code = 'BAD_USER_INPUT';
  else code = details.status && details.status !== 200 ? codeOfHttpStatus(details.status) : 'INTERNAL';
  const retry = first?.extensions?.retryAfterSeconds;
  return new DataPilotClientError(code, first?.message ?? 'The request failed.', {
    ...details,
    errors,
    serverCode: typeof raw === 'string' && raw !== code ? raw : undefined,
    retryAfterSeconds: typeof retry === 'number' ? retry : undefined,
  });
}

/** The error of an HTTP answer that carries no GraphQL body (or none that parses): by its status. */
export function fromHttpStatus(status: number, text: string): DataPilotClientError {
  return new DataPilotClientError(codeOfHttpStatus(status), `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`, {
    status,
  });
}

/** The error of a WebSocket closed with `code` (and `reason`) while a subscription ran. */
export function fromClose(code: number, reason: string): DataPilotClientError {
  return new DataPilotClientError(codeOfClose(code), reason || `The WebSocket closed (${code}).`, { closeCode: code });
}

/**
 * Any failure as a {@link DataPilotClientError}: itself when it is one; a graphql-ws error list; a close event; else
 * (a fetch that could not connect, a DNS failure, an abort) UPSTREAM_UNAVAILABLE.
 */
export function toClientError(e: unknown): DataPilotClientError {
  if (e instanceof DataPilotClientError) return e;
  if (Array.isArray(e)) return fromGraphQLErrors(e as GraphQLErrorShape[]);
  const close = e as { code?: unknown; reason?: unknown } | null;
  if (close && typeof close.code === 'number' && typeof (close as { type?: unknown }).type === 'string')
    return fromClose(close.code, typeof close.reason === 'string' ? close.reason : '');
  return new DataPilotClientError(
    'UPSTREAM_UNAVAILABLE',
    `DataPilot could not be reached: ${String((e as Error)?.message ?? e)}`,
    {
      cause: e,
    },
  );
}
