-- Nodes cache a few hot rows (the session's user, chat models) and must drop them the moment
-- they change. Every UPDATE or DELETE announces the row on the argus_row_changed channel; a
-- NOTIFY is delivered only when its transaction commits, so a rolled-back change is never
-- announced. Payload: '<table>:<id>'.
CREATE FUNCTION argus_notify_row_change() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('argus_row_changed', TG_TABLE_NAME || ':' || OLD.id::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER app_user_row_changed AFTER UPDATE OR DELETE ON app_user
  FOR EACH ROW EXECUTE FUNCTION argus_notify_row_change();

CREATE TRIGGER model_row_changed AFTER UPDATE OR DELETE ON model
  FOR EACH ROW EXECUTE FUNCTION argus_notify_row_change();
