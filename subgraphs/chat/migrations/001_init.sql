-- Chat data: conversations and their messages. Every row carries org_id; conversations also carry the
-- creating user, and are private to that user (see schema.graphql). Applied by runMigrations(pool, 'chat', dir),
-- which sets search_path to the chat schema.

CREATE TABLE conversations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL,
  user_id uuid NOT NULL,
  title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Insertion order: the keyset for cursor pagination (created_at alone can tie).
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  -- Target of the messages' composite foreign key: a message can only belong to a conversation of its own org.
  UNIQUE (id, org_id)
);
CREATE INDEX conversations_owner_seq_idx ON conversations (org_id, user_id, seq DESC);

CREATE TABLE messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id uuid NOT NULL,
  org_id uuid NOT NULL,
  role text NOT NULL CHECK (role IN ('USER', 'ASSISTANT')),
  status text NOT NULL CHECK (status IN ('PENDING', 'STREAMING', 'COMPLETE', 'FAILED')),
  text text NOT NULL DEFAULT '',
  sql text,
  -- {"columns": [{"name", "type"}], "rows": [[...], ...]}: the analyst's result table, rows in column order.
  result jsonb,
  -- A DataPilot error code (UPSTREAM_UNAVAILABLE, INTERNAL, ...) when status = 'FAILED'.
  error_code text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  FOREIGN KEY (conversation_id, org_id) REFERENCES conversations (id, org_id) ON DELETE CASCADE
);
CREATE INDEX messages_conversation_seq_idx ON messages (conversation_id, seq);
