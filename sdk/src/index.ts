/**
 * @datapilot/sdk: a typed client of the DataPilot GraphQL API — `createDataPilotClient`, the typed documents generated
 * from the API schema (sdk/src/operations/*.graphql), one error type with DataPilot's error codes, and an Apollo Client
 * cache policy. See README, "Client SDK".
 */
export {
  createDataPilotClient,
  formatOf,
  type Answer,
  type AnswerEvent,
  type DataPilotClient,
  type DataPilotClientOptions,
  type SessionListener,
  type SubscribeOptions,
  type TableRowsPage,
  type UploadInput,
} from './client.ts';
export {
  DataPilotClientError,
  ERROR_CODES,
  ERROR_HTTP_STATUS,
  WS_CLOSE,
  codeOfClose,
  codeOfHttpStatus,
  isErrorCode,
  toClientError,
  type ErrorCode,
  type GraphQLErrorShape,
} from './errors.ts';
export { TokenManager, tokenTimesMs, type Session, type SessionChangeReason } from './session.ts';
export {
  dataPilotTypePolicies,
  relayConnection,
  type FieldPolicy,
  type TypePolicies,
  type TypePolicy,
} from './cache.ts';
export type { JsonObject, JsonValue, LakeRow, LakeValue, ResultRows, UploadHeaders } from './json.ts';
export * from './generated/graphql.ts';
