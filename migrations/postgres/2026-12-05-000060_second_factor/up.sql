-- The optional second factor at sign-in (docs/ui.md): a TOTP secret per user (RFC 6238),
-- encrypted at rest; one-time recovery codes, hashed with Argon2id like passwords; and the
-- short-lived state between a correct password and the second step.

-- A user's TOTP secret, AES-256-GCM encrypted under the second-factor key (docs/configuration.md).
-- enabled_at is NULL while enrolment waits for the first valid code. last_step is the last
-- accepted time step, so that a code is never accepted twice.
CREATE TABLE second_factors (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id),
    secret_encrypted BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL,
    enabled_at TIMESTAMP,
    last_step BIGINT NOT NULL
);

-- A one-time recovery code (Argon2id PHC string); used_at is set when it is spent.
CREATE TABLE recovery_codes (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- A password checked, the second step still to come: not a session. The browser holds a random
-- token; only its SHA-256 is stored.
CREATE TABLE pending_sign_ins (
    token_sha256 TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX pending_sign_ins_user ON pending_sign_ins (user_id);
