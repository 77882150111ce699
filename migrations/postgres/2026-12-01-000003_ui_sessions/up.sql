-- The web UI (docs/ui.md): server-side sessions, failed sign-ins for throttling, and each
-- user's chosen language.

-- A signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so a
-- copy of the database opens no session. The CSRF token is the synchronizer token every form
-- of the session carries.
CREATE TABLE ui_sessions (
    token_sha256 TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX ui_sessions_user ON ui_sessions (user_id);

-- One failed sign-in, counted per account and per client address.
CREATE TABLE sign_in_failures (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_failures_username ON sign_in_failures (username, at);
CREATE INDEX sign_in_failures_address ON sign_in_failures (address, at);

ALTER TABLE users ADD COLUMN language TEXT;
