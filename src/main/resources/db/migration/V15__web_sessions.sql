-- Sessions of the operator console (/console) and the customer portal (/portal). Kept in the
-- database so that any instance serves any session. The cookie carries a random session id; only
-- its SHA-256 is stored, so a copy of this table signs nobody in.
CREATE TABLE web_sessions (
    id_hash     bytea       PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('console', 'portal')),
    -- console: the fingerprint of the admin token signed in with (a new token ends its sessions)
    actor       text,
    -- portal: the key signed in with and its account (a revoked or expired key ends its sessions)
    key_id      uuid        REFERENCES api_keys (id),
    account_id  uuid        REFERENCES accounts (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    CHECK ((kind = 'console' AND actor IS NOT NULL AND key_id IS NULL AND account_id IS NULL)
        OR (kind = 'portal' AND key_id IS NOT NULL AND account_id IS NOT NULL))
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- The dashboard's errors of the last 24 hours: the few failed calls alone, by time (a partial
-- index: calls that succeed, nearly all of them, add nothing to it).
CREATE INDEX usage_records_errors ON usage_records (created_at) WHERE status IN ('upstream_error', 'stream_error');
