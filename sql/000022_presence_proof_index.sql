-- Presence proofs (issue #25, docs/presence-proofs.md): a grant's proof is checked against the
-- history of the credential that signed it, found by the credential id the events record in
-- details.credential.id: its registration (the public key) and its owner changes (reassigned,
-- deleted, removed). Partial, so only those few events are indexed and every other audit
-- append pays nothing to maintain it.
CREATE INDEX audit_event_credential ON audit_event ((details->'credential'->>'id'), seq)
  WHERE action IN ('key.registered', 'key.first_key_registered', 'key.reassigned', 'key.deleted', 'key.removed');
