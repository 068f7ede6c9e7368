import { DEFAULT_PORTS, databaseConfig, int, str, SERVICE_CONFIG } from '@datapilot/common';
import { LAKE_CONFIG } from '@datapilot/lake-core';
import { DEFAULT_MAX_CONCURRENT_QUESTIONS_PER_ORG } from './responder.ts';

/** The chat subgraph's variables (README, Configuration), for `loadConfig(CHAT_SERVICE_CONFIG)` in main.ts. */
export const CHAT_SERVICE_CONFIG = {
  ...SERVICE_CONFIG,
  ...LAKE_CONFIG,
  ...databaseConfig('chat', 'datapilot_chat'),
  CHAT_PORT: int('HTTP and WebSocket port of the chat subgraph', DEFAULT_PORTS.chat, 0, 65535),
  CHAT_HOST: str('interface the chat subgraph binds', '127.0.0.1'),
  CHAT_STREAM_DELAY_MS: int('pause between two streamed answer pieces, in milliseconds', 20, 0, 1_000),
  CHAT_MAX_CONCURRENT_QUESTIONS_PER_ORG: int(
    'questions one organization may have answered at once in this process (sendMessage answers RATE_LIMITED beyond)',
    DEFAULT_MAX_CONCURRENT_QUESTIONS_PER_ORG,
    1,
    1_000,
  ),
};
