import { DEFAULT_PORTS, databaseConfig, int, str, SERVICE_CONFIG } from '@datapilot/common';
import { ConfigError, NEO4J_CONFIG, url, type EnvSpec } from '@datapilot/common';
import { LAKE_CONFIG } from '@datapilot/lake-core';
import { DEFAULT_MAX_CONCURRENT_QUESTIONS_PER_ORG } from './responder.ts';

/** An http(s) URL, or '' when unset (the feature it enables is off). */
const optionalHttpUrl = (doc: string): EnvSpec<string> => ({
  doc,
  parse(raw, name) {
    if (raw === undefined || raw === '') return '';
    const v = url(doc).parse(raw, name);
    if (!/^https?:$/.test(new URL(v).protocol))
      throw new ConfigError(`${name}=${JSON.stringify(raw)} is not an http(s) URL: ${doc}`);
    return v;
  },
});

/** The chat subgraph's variables (README, Configuration), for `loadConfig(CHAT_SERVICE_CONFIG)` in main.ts. */
export const CHAT_SERVICE_CONFIG = {
  ...SERVICE_CONFIG,
  ...LAKE_CONFIG,
  ...databaseConfig('chat', 'datapilot_chat'),
  // The semantic layer the analyst reads (the graph subgraph's store).
  ...NEO4J_CONFIG,
  CHAT_PORT: int('HTTP and WebSocket port of the chat subgraph', DEFAULT_PORTS.chat, 0, 65535),
  CHAT_HOST: str('interface the chat subgraph binds', '127.0.0.1'),
  CHAT_STREAM_DELAY_MS: int('pause between two streamed answer pieces, in milliseconds', 20, 0, 1_000),
  CHAT_MAX_CONCURRENT_QUESTIONS_PER_ORG: int(
    'questions one organization may have answered at once in this process (sendMessage answers RATE_LIMITED beyond)',
    DEFAULT_MAX_CONCURRENT_QUESTIONS_PER_ORG,
    1,
    1_000,
  ),
  ANALYST_LLM_URL: optionalHttpUrl(
    'base URL of an OpenAI-compatible chat-completions API (e.g. http://127.0.0.1:8080/v1) the analyst asks for query plans and answer text; empty: the deterministic analyst alone',
  ),
  ANALYST_LLM_MODEL: str('model name sent to ANALYST_LLM_URL (empty: none sent)', ''),
  ANALYST_LLM_API_KEY: str('bearer key for ANALYST_LLM_URL (empty: no Authorization header)', ''),
  ANALYST_LLM_TIMEOUT_MS: int(
    'deadline of one request to ANALYST_LLM_URL, from sending it to the last streamed byte, in milliseconds',
    60_000,
    1_000,
    600_000,
  ),
};
