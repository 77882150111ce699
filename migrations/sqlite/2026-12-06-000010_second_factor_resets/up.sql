-- An administrator turned a user's second factor off (docs/ui.md): kept until the user next
-- signs in with the password, who is then told and sent to enrol again. Who did it and when are
-- in the audit log too (account.second_factor.reset).
CREATE TABLE second_factor_resets (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id),
    reset_by TEXT NOT NULL,
    reset_at TIMESTAMP NOT NULL
);
