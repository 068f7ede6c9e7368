/** @datapilot/chat: the chat subgraph — conversations, messages, streaming answers from the analyst. */
export {
  createChatServer,
  migrateChatSchema,
  SCHEMA_FILE,
  MIGRATIONS_DIR,
  GRAPHQL_PATH,
  WS_CLOSE,
  type ChatServer,
  type ChatServerOptions,
} from './server.ts';
export type { TenantLakes, Responder } from './responder.ts';
export {
  createChatStore,
  type ChatStore,
  type Conversation,
  type Message,
  type MessageResult,
} from './data/chat-store.ts';
export { createMessageEventHub, type MessageEvent, type MessageEventHub, type MessageEventKind } from './events.ts';
export {
  createAnalyst,
  planQuestion,
  toSql,
  type Analyst,
  type AnalystLake,
  type AnalystAnswer,
} from './analyst/index.ts';
