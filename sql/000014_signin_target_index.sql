-- The admin user list shows each user's last sign-in: the newest successful auth.signin
-- whose target is the user. Partial, so each row of a page is one index probe however many
-- other events name the user, and every other audit append pays nothing to maintain it.
CREATE INDEX audit_event_signin_target ON audit_event (target_id, seq) WHERE action = 'auth.signin' AND outcome = 'success';
