import { DEFAULT_PORTS, int, str, SERVICE_CONFIG } from '@datapilot/common';
import { LAKE_CONFIG } from '@datapilot/lake-core';

/** The chat subgraph's variables (README, Configuration), for `loadConfig(CHAT_SERVICE_CONFIG)` in main.ts. */
export const CHAT_SERVICE_CONFIG = {
  ...SERVICE_CONFIG,
  ...LAKE_CONFIG,
  DATABASE_URL: str('PostgreSQL URL; the chat subgraph owns schema `chat` (required)'),
  DATABASE_POOL_MAX: int('largest number of PostgreSQL connections', 10, 1, 200),
  CHAT_PORT: int('HTTP and WebSocket port of the chat subgraph', DEFAULT_PORTS.chat, 0, 65535),
  CHAT_HOST: str('interface the chat subgraph binds', '127.0.0.1'),
  CHAT_STREAM_DELAY_MS: int('pause between two streamed answer pieces, in milliseconds', 20, 0, 1_000),
};
