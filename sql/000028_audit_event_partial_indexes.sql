-- Fewer index entries per audit event (issue #24). Each append writes one entry into every index
-- of audit_event whose predicate the row meets, and each entry is a B-tree descent, a WAL record
-- (~70 bytes of the ~1 KB an event writes) and part of what its commit must flush. Three of the
-- indexes held entries no query can use:
--
-- - audit_event_target: every query names a target (target_id = $n, which implies NOT NULL), and
--   many events have none (model accesses, sign-outs, denials without a target).
-- - audit_event_outcome and audit_event_severity: the common values ('success', 'info': most of
--   the log) are read newest first through the primary key, which finds a page of them within
--   its first few hundred rows; the rare values, which a reviewer looks for and which a scan by
--   seq could walk the whole log to find, keep their index. The audit search filters by literal
--   values (each search is planned with its own parameters), so the planner knows which case
--   it is in.
--
-- Same names, same columns; only the predicates are new. Built in this migration's transaction.
DROP INDEX audit_event_target;
CREATE INDEX audit_event_target ON audit_event (target_id, seq) WHERE target_id IS NOT NULL;

DROP INDEX audit_event_outcome;
CREATE INDEX audit_event_outcome ON audit_event (outcome, seq) WHERE outcome <> 'success';

DROP INDEX audit_event_severity;
CREATE INDEX audit_event_severity ON audit_event (severity, seq) WHERE severity <> 'info';
