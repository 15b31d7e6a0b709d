-- A restricted request re-checks that its grant's key is still active and still the user's
-- (threat-model G2 and G3: a revocation lost between the Postgres commit and Redis, or a grant
-- written just after its key was deactivated). Nodes cache key rows for that check, so key
-- changes are announced like user and model changes (sql/000009). Deletes by cascade fire too.
CREATE TRIGGER security_key_row_changed AFTER UPDATE OR DELETE ON security_key
  FOR EACH ROW EXECUTE FUNCTION argus_notify_row_change();
