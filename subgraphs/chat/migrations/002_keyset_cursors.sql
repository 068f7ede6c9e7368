-- Cursors are keyset positions made of the row's OWN values (created_at, id), not a global sequence number:
-- `seq` was one counter for every org, so a new org's first cursor revealed the platform's volume (QA finding F7).
-- Lists order by (created_at, id): id breaks ties between rows created in the same microsecond, so the order is
-- total and every row is on exactly one page. Dropping `seq` also drops its unique constraint and the old indexes.

ALTER TABLE conversations DROP COLUMN seq;
ALTER TABLE messages DROP COLUMN seq;

-- conversations(first, after): the owner's rows, newest first.
CREATE INDEX conversations_owner_created_idx ON conversations (org_id, user_id, created_at DESC, id DESC);
-- Conversation.messages(first, after): in the order written; also max(created_at) for a new message.
CREATE INDEX messages_conversation_created_idx ON messages (conversation_id, created_at, id);
