-- Indexes for the admin console's user and key lists at 100,000 rows (see
-- `npm run bench:admin-lists`).
--
-- User search matches a substring of the username or the display name (`%q%`), so a
-- lower(username) prefix index cannot serve it; trigram GIN indexes can, for queries of
-- three characters or more. Shorter queries match so many rows that walking the
-- lower(username) index in page order finds a page at once. Role and status filters get
-- (filter, lower(username)) indexes, so a filtered page is a range scan in keyset order.
-- pg_trgm is a trusted extension (Postgres 13+): the database owner may create it.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX app_user_username_trgm ON app_user USING gin (lower(username) gin_trgm_ops);
CREATE INDEX app_user_display_name_trgm ON app_user USING gin (lower(display_name) gin_trgm_ops);
CREATE INDEX app_user_role_username ON app_user (role, lower(username));
CREATE INDEX app_user_status_username ON app_user (status, lower(username));

-- The unfiltered key list pages by (created_at, id); without this every page sorts the table.
CREATE INDEX security_key_created ON security_key (created_at, id);
