-- People of the organisations (departments; users belong to an organisation and a department
-- and hold exchange roles) and the retention of archived documents (EDE 7.1.4, 7.4): disposal
-- only after a second person approves it, and legal holds that stop it.
CREATE TABLE departments (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (organisation_id, name)
);

ALTER TABLE users ADD COLUMN organisation_id TEXT REFERENCES organisations(id);
ALTER TABLE users ADD COLUMN department_id TEXT REFERENCES departments(id);
CREATE INDEX users_organisation ON users (organisation_id);

-- One organisation's request to dispose of its copy of a document, and its decision.
CREATE TABLE disposals (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    document_id TEXT NOT NULL REFERENCES documents(id),
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    decision TEXT CHECK (decision IN ('approved', 'rejected')),
    decided_by TEXT,
    decided_at TIMESTAMP,
    decision_note TEXT
);
CREATE INDEX disposals_document ON disposals (organisation_id, document_id);

CREATE TABLE legal_holds (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    document_id TEXT NOT NULL REFERENCES documents(id),
    reason TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    placed_at TIMESTAMP NOT NULL,
    released_by TEXT,
    released_at TIMESTAMP
);
CREATE INDEX legal_holds_document ON legal_holds (organisation_id, document_id);

-- Bytes erased once no organisation keeps a copy; the row (its hash and size) stays, because
-- the register records name it.
ALTER TABLE blobs ADD COLUMN erased_at TIMESTAMP;
