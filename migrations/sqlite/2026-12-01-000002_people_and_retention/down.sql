ALTER TABLE blobs DROP COLUMN erased_at;
DROP TABLE legal_holds;
DROP TABLE disposals;
DROP INDEX users_organisation;
-- SQLite cannot drop a column that takes part in a foreign key: rebuild the table as it was.
CREATE TABLE users_before (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO users_before
    SELECT id, username, display_name, email, password_hash, roles, must_change_password,
           created_at
    FROM users;
DROP TABLE users;
ALTER TABLE users_before RENAME TO users;
DROP TABLE departments;
