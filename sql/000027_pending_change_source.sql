-- Threat model G20: a promotion to admin that company sign-in asks for (the provider's groups
-- name one of OIDC_ADMIN_GROUPS) waits for an admin's approval, as one an admin asks for does
-- (server/pendingChanges/requestChange.ts, gateGroupPromotion). `source` says who asked:
-- 'admin' (requested_by is that admin) or 'company_groups' (requested_by is the user whose
-- sign-in asked; target_snapshot keeps the groups it named).
ALTER TABLE pending_admin_change
  ADD COLUMN source text NOT NULL DEFAULT 'admin' CHECK (source IN ('admin', 'company_groups')),
  ADD CONSTRAINT pending_admin_change_source_kind CHECK (source = 'admin' OR kind = 'promote_admin');

-- Each company sign-in looks up its user's last group-driven request (asked once, not again
-- after a rejection for the same groups).
CREATE INDEX pending_admin_change_group_promotion
  ON pending_admin_change (target_user_id, requested_at DESC) WHERE source = 'company_groups';
