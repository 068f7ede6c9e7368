-- Issue 9: chat replicas that lose nothing. Message events go through PostgreSQL instead of one process's memory, so
-- that any replica can stream an answer computed by another (events.ts), and an answer whose replica died is ended
-- by a live one (replicas.ts).

-- 1. The outbox of message events. The answering replica writes each event here in the same transaction as the
-- message change it reports, and NOTIFYs channel `chat_message_events` (chat-store.ts `MESSAGE_EVENTS_CHANNEL`)
-- with the event, or only its position when it does not fit the 8000-byte payload limit; every replica LISTENs and
-- reads what it needs from here. Events of a message are numbered 1, 2, 3, ... without gaps (the primary key refuses
-- a second writer of one number). TEXT_DELTA rows hold their piece (`text_delta`) and no snapshot: the message as of
-- a piece is the previous snapshot with the pieces so far as its text. Every other row holds the message as stored
-- by its step (`message`, the API's Message as JSON). Rows go some time after the message's final event
-- (sweep_message_events): a finished message's events are then rebuilt from the message (responder.ts
-- `publishedEvents`).
CREATE TABLE message_events (
  message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  org_id uuid NOT NULL,
  sequence integer NOT NULL CHECK (sequence > 0),
  kind text NOT NULL CHECK (kind IN ('STATUS', 'PLAN', 'SQL', 'RESULT', 'CHART', 'TEXT_DELTA', 'COMPLETE', 'FAILED')),
  text_delta text CHECK ((kind = 'TEXT_DELTA') = (text_delta IS NOT NULL)),
  message jsonb CHECK ((kind = 'TEXT_DELTA') = (message IS NULL)),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (message_id, sequence)
);
-- The outbox sweep: final events by age.
CREATE INDEX message_events_final_idx ON message_events (created_at) WHERE kind IN ('COMPLETE', 'FAILED');

ALTER TABLE message_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_events FORCE ROW LEVEL SECURITY;
CREATE POLICY org_wall ON message_events
  USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
GRANT SELECT, INSERT ON message_events TO datapilot_chat;

-- 2. Who is answering what. Each replica has an id of its own (a UUID per process) and renews its row here every few
-- seconds while it runs; it writes its id into each message it answers (`answered_by`, with the move to STREAMING).
-- Not tenant data: no organization's rows are here.
CREATE TABLE replicas (
  id text PRIMARY KEY CHECK (char_length(id) BETWEEN 1 AND 100),
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE, DELETE ON replicas TO datapilot_chat;
ALTER TABLE messages ADD COLUMN answered_by text;
-- The recovery sweep: the unfinished answers (few at any time) by last change.
CREATE INDEX messages_unfinished_idx ON messages (updated_at) WHERE role = 'ASSISTANT' AND status IN ('PENDING', 'STREAMING');

-- THE rule of an orphaned answer, for replica `me`: an unfinished answer is orphaned when no replica took it within
-- `stale_seconds` of its last change (its replica died between storing the question and starting), when its replica
-- has not renewed its row for `stale_seconds` (dead, or cut off from the database), or when it is `me`'s own (the
-- caller checks first that it is not answering it any more). Read by the discovery below and re-checked by the
-- UPDATE that ends such an answer (chat-store.ts `interruptOrphanedAnswer`), so two replicas never both end one, and
-- a replica that renewed in between keeps its answer.
CREATE FUNCTION answer_orphaned(answered_by text, updated_at timestamptz, me text, stale_seconds integer)
  RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT CASE
      WHEN answered_by IS NULL THEN updated_at < now() - make_interval(secs => stale_seconds)
      WHEN answered_by = me THEN true
      ELSE NOT EXISTS (SELECT FROM chat.replicas r
                       WHERE r.id = answered_by AND r.heartbeat_at > now() - make_interval(secs => stale_seconds))
    END
  $$;

-- 3. The background sweeps' cross-org needs (a loop, not a request: no token names an org), as in lake's migration
-- 004: SECURITY DEFINER functions of fixed conditions answering only (org_id, id) pairs; the replica then ends each
-- answer in a tenant transaction of its own org. For an owner that is not a superuser (FORCE binds it too), the
-- policies below admit exactly the rows the functions look at.
CREATE POLICY replica_discovery ON messages FOR SELECT TO CURRENT_USER
  USING (role = 'ASSISTANT' AND status IN ('PENDING', 'STREAMING'));
CREATE POLICY outbox_sweep ON message_events FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY outbox_sweep_delete ON message_events FOR DELETE TO CURRENT_USER USING (true);

-- The orphaned answers for replica `me` (answer_orphaned), least recently changed first, with who was answering.
CREATE FUNCTION orphaned_answers(me text, stale_seconds integer, lim integer)
  RETURNS TABLE (org_id uuid, id uuid, answered_by text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT m.org_id, m.id, m.answered_by FROM chat.messages m
    WHERE m.role = 'ASSISTANT' AND m.status IN ('PENDING', 'STREAMING')
      AND chat.answer_orphaned(m.answered_by, m.updated_at, me, stale_seconds)
    ORDER BY m.updated_at LIMIT lim
  $$;
-- Deletes the outbox rows of messages whose final event is older than `grace_seconds`, and any row older than a day
-- (an answer never runs that long; a message finished without a final event, e.g. by hand, leaves none behind);
-- returns how many.
CREATE FUNCTION sweep_message_events(grace_seconds integer) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    WITH gone AS (
      DELETE FROM chat.message_events e
      WHERE e.message_id IN (SELECT f.message_id FROM chat.message_events f
                             WHERE f.kind IN ('COMPLETE', 'FAILED')
                               AND f.created_at < now() - make_interval(secs => grace_seconds))
         OR e.created_at < now() - interval '1 day'
      RETURNING 1)
    SELECT count(*)::integer FROM gone
  $$;
REVOKE ALL ON FUNCTION orphaned_answers(text, integer, integer), sweep_message_events(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION orphaned_answers(text, integer, integer), sweep_message_events(integer) TO datapilot_chat;
