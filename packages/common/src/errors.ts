import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/**
 * The fixed set of error codes every DataPilot service answers with, in `extensions.code`.
 * Clients branch on these codes, never on message text. The HTTP status is the one a
 * request-level failure of that kind carries (field errors inside a 200 response keep 200).
 */
export const ERROR_HTTP_STATUS = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  UPSTREAM_TIMEOUT: 504,
  UPSTREAM_UNAVAILABLE: 503,
  INTERNAL: 500,
  /** The gateway runs only trusted documents and this one is not in its manifest (gateway/src/trusted-documents.ts). */
  PERSISTED_QUERY_NOT_FOUND: 400,
} as const;

/** One of the codes of {@link ERROR_HTTP_STATUS}: the `ErrorCode` union clients (the SDK) branch on. */
export type ErrorCode = keyof typeof ERROR_HTTP_STATUS;

/**
 * Every {@link ErrorCode}, in the order of {@link ERROR_HTTP_STATUS} (the one list; the README's error table lists
 * each, checked by packages/common/test/error-codes.test.ts). For a client that validates a code it received: this
 * module is also exported alone as `@datapilot/common/errors` (it imports only `graphql`), for code run in browsers.
 */
export const ERROR_CODES: readonly ErrorCode[] = Object.freeze(Object.keys(ERROR_HTTP_STATUS) as ErrorCode[]);

/**
 * The one error type of DataPilot: a GraphQLError whose `extensions.code` is an {@link ErrorCode}.
 * Its message is safe to show a user; never put internals (SQL errors, stack traces, other orgs' ids) in it.
 *
 * A field error carries no HTTP status: the response stays 200 with `data` and `errors` side by side
 * (GraphQL over HTTP), which is also what lets the gateway relay a subgraph's NOT_FOUND as it is.
 * An error that fails the whole request before execution (a bad token in the context function) is
 * raised with {@link DataPilotError.asRequestError}, which adds `extensions.http.status` for Apollo Server.
 */
export class DataPilotError extends GraphQLError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extra, code } });
    this.code = code;
  }

  /** The same error with `extensions.http.status` set to its code's status (Apollo Server strips it from the body). */
  asRequestError(): DataPilotError {
    const { code: _c, ...extra } = this.extensions;
    return new DataPilotError(this.code, this.message, { ...extra, http: { status: ERROR_HTTP_STATUS[this.code] } });
  }
}

/** UNAUTHENTICATED: no token, a bad signature, an expired token, a wrong issuer or audience. */
export const unauthenticated = (message = 'A valid access token is required.') =>
  new DataPilotError('UNAUTHENTICATED', message);
/** FORBIDDEN: the caller is known but its role may not do this. */
export const forbidden = (message = 'Your role does not allow this.') => new DataPilotError('FORBIDDEN', message);
/**
 * NOT_FOUND: the thing does not exist *for this organization*. Another org's id answers this too,
 * so that existence is not revealed.
 */
export const notFound = (what: string) => new DataPilotError('NOT_FOUND', `${what} was not found.`);
/** BAD_USER_INPUT: the arguments are malformed; `field` names the argument at fault. */
export const badUserInput = (message: string, field?: string) =>
  new DataPilotError('BAD_USER_INPUT', message, field ? { field } : {});
/** CONFLICT: a unique thing (an email, a name) exists already. */
export const conflict = (message: string) => new DataPilotError('CONFLICT', message);

/** True when `e` carries one of DataPilot's codes (a DataPilotError, or a GraphQLError relayed from a subgraph). */
export function hasErrorCode(e: unknown, code?: ErrorCode): boolean {
  const c = (e as { extensions?: { code?: unknown } } | null)?.extensions?.code;
  return typeof c === 'string' && c in ERROR_HTTP_STATUS && (code === undefined || c === code);
}

/** Apollo Server's own codes for a malformed request, kept as they are (its documented error codes). */
const APOLLO_REQUEST_CODES = /^(GRAPHQL_\w+|BAD_REQUEST|PERSISTED_QUERY_NOT_SUPPORTED|OPERATION_RESOLUTION_FAILURE)$/;

/**
 * Apollo Server `formatError` hook: errors with a DataPilot code pass through; GraphQL validation
 * and parse errors and other malformed requests keep Apollo's own codes (GRAPHQL_VALIDATION_FAILED,
 * PERSISTED_QUERY_NOT_SUPPORTED, ...); everything else is
 * masked to INTERNAL with a generic message (the original goes to `log`). Stack traces never leave.
 */
export function createFormatError(log: (err: unknown) => void) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    const original = (error as { originalError?: unknown })?.originalError ?? error;
    if (hasErrorCode(formatted) || (typeof code === 'string' && APOLLO_REQUEST_CODES.test(code))) {
      const { stacktrace: _s, exception: _e, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    if (hasErrorCode(original)) {
      const ext = (original as DataPilotError).extensions;
      return {
        message: (original as Error).message,
        path: formatted.path,
        locations: formatted.locations,
        extensions: ext,
      };
    }
    log(original);
    return {
      message: 'Internal server error.',
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: 'INTERNAL' },
    };
  };
}
