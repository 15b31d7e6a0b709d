-- The admin overview counts a handful of actions over the last 24 hours. With (action, time)
-- each action's window is one index range, however many other events the log holds.
CREATE INDEX audit_event_action_time ON audit_event (action, time);
