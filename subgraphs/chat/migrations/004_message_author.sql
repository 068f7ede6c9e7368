-- Issue 7: whose message it is (`Message.author`, a User entity resolved by the auth subgraph): the member who wrote a
-- question (USER), and for the analyst's answer (ASSISTANT) the member who asked the question it answers.
ALTER TABLE messages ADD COLUMN author_id uuid;

-- Until now only a conversation's creator could write in it: every existing message is its creator's question or the
-- answer to it. The backfill runs as the owner with the org wall lifted for these statements, inside this
-- migration's transaction.
ALTER TABLE messages NO FORCE ROW LEVEL SECURITY;
ALTER TABLE conversations NO FORCE ROW LEVEL SECURITY;
UPDATE messages m SET author_id = c.user_id
  FROM conversations c
 WHERE c.id = m.conversation_id AND c.org_id = m.org_id;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
ALTER TABLE conversations FORCE ROW LEVEL SECURITY;

ALTER TABLE messages ALTER COLUMN author_id SET NOT NULL;
