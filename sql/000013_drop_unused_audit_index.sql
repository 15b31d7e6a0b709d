-- 000006 (retired, see sql/README.md) created this index on databases migrated while it
-- existed; the planner never chose it, and every audit append paid to maintain it.
DROP INDEX IF EXISTS audit_event_action_time;
