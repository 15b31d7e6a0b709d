-- OIDC_FIRST_KEY=approval (issue #20): the first key of a user who arrived through company
-- sign-in is registered but unusable until an admin approves it with a fresh step-up. A
-- status of its own, not a flag beside 'active': every check that asks for an active key
-- (sign-in, step-up, unlocking, the grant check's backstop) refuses such a key as it is.
ALTER TABLE security_key DROP CONSTRAINT security_key_status_check;
ALTER TABLE security_key ADD CONSTRAINT security_key_status_check
  CHECK (status IN ('active', 'deactivated', 'suspended', 'pending_approval'));
