-- Issue 8: what the analyst understood (`Message.plan`), what it drew (`Message.chart`), what it is doing
-- (`Message.statusText`), and the outline of the events it published, so that a subscriber resuming after the
-- answer ended gets exactly the events that were streamed (responder.ts `publishedEvents`).
--
-- Only columns are added: the org wall of migration 003 (row-level security, FORCE) covers every column of these
-- rows, and the runtime role's table-wide grants (SELECT, INSERT, UPDATE, DELETE on messages) extend to new columns,
-- so nothing is re-granted here. Existing rows keep NULL: no plan, no chart, and an outline rebuilt from the
-- columns they have (STATUS, SQL, RESULT, text) as before.

-- {"summary": "<the plan in words>", "plan": <QueryPlan as JSON (subgraphs/chat/src/analyst/query-plan.ts)>}.
ALTER TABLE messages ADD COLUMN plan jsonb
  CHECK (plan IS NULL OR (jsonb_typeof(plan) = 'object' AND jsonb_typeof(plan -> 'summary') = 'string'
                          AND jsonb_typeof(plan -> 'plan') = 'object'));
-- A Vega-Lite v5 spec with its data inline (subgraphs/chat/src/analyst/chart.ts: at most 1000 points).
ALTER TABLE messages ADD COLUMN chart jsonb CHECK (chart IS NULL OR jsonb_typeof(chart) = 'object');
-- The analyst's latest status line ("Reading your tables"), set by STATUS events.
ALTER TABLE messages ADD COLUMN status_text text CHECK (char_length(status_text) <= 200);
-- The published events in order, without their payloads (which are the columns above): [{"kind": "STATUS"},
-- {"kind": "STATUS", "statusText": "..."}, {"kind": "PLAN"}, {"kind": "SQL"}, {"kind": "RESULT"}, {"kind": "CHART"},
-- {"kind": "TEXT_DELTA", "count": <pieces>}, ...]; the final event is not in it.
ALTER TABLE messages ADD COLUMN event_log jsonb CHECK (event_log IS NULL OR jsonb_typeof(event_log) = 'array');
