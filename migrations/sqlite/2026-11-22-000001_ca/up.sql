-- The embedded CA: hierarchy, register, CRLs, timestamps, users, audit log, compromise cases,
-- mail outbox and job locks.
CREATE TABLE authorities (
    id TEXT PRIMARY KEY NOT NULL,
    parent_id TEXT REFERENCES authorities(id),
    kind TEXT NOT NULL CHECK (kind IN ('root', 'issuing')),
    name TEXT NOT NULL,
    certificate BLOB NOT NULL,
    key_ref TEXT NOT NULL,
    crl_number BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE service_certificates (
    id TEXT PRIMARY KEY NOT NULL,
    authority_id TEXT NOT NULL REFERENCES authorities(id),
    purpose TEXT NOT NULL,
    certificate BLOB NOT NULL,
    key_ref TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE certificates (
    serial TEXT PRIMARY KEY NOT NULL,
    issuer_id TEXT NOT NULL REFERENCES authorities(id),
    profile TEXT NOT NULL,
    subject TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    holder_id TEXT,
    organisation TEXT,
    position TEXT,
    email TEXT,
    not_before TIMESTAMP NOT NULL,
    not_after TIMESTAMP NOT NULL,
    key_usage_not_after TIMESTAMP,
    status TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked')),
    status_changed_at TIMESTAMP,
    revocation_reason TEXT,
    invalidity_date TIMESTAMP,
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    public_consent BOOLEAN NOT NULL DEFAULT FALSE,
    issued_at TIMESTAMP NOT NULL,
    der BLOB NOT NULL
);
CREATE INDEX certificates_issuer_status ON certificates (issuer_id, status);
CREATE INDEX certificates_subject_key ON certificates (subject_key);
CREATE INDEX certificates_holder ON certificates (holder_id);
CREATE INDEX certificates_not_after ON certificates (not_after);
CREATE INDEX certificates_status_changed ON certificates (issuer_id, status_changed_at);

CREATE TABLE certificate_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    serial TEXT NOT NULL REFERENCES certificates(serial),
    event TEXT NOT NULL,
    reason TEXT,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX certificate_events_serial ON certificate_events (serial);
CREATE INDEX certificate_events_at ON certificate_events (at);

CREATE TABLE crls (
    issuer_id TEXT NOT NULL REFERENCES authorities(id),
    number BIGINT NOT NULL,
    base_number BIGINT,
    this_update TIMESTAMP NOT NULL,
    next_update TIMESTAMP NOT NULL,
    der BLOB NOT NULL,
    PRIMARY KEY (issuer_id, number)
);

CREATE TABLE timestamps (
    serial TEXT PRIMARY KEY NOT NULL,
    gen_time TIMESTAMP NOT NULL,
    policy TEXT NOT NULL,
    hash_algorithm TEXT NOT NULL,
    hashed_message TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE compromise_cases (
    serial TEXT PRIMARY KEY NOT NULL REFERENCES certificates(serial),
    reported_at TIMESTAMP NOT NULL,
    reported_by TEXT NOT NULL,
    description TEXT NOT NULL,
    revocation_due_at TIMESTAMP NOT NULL,
    escalated_at TIMESTAMP,
    closed_at TIMESTAMP
);

CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX mail_outbox_pending ON mail_outbox (sent_at, id);

CREATE TABLE job_locks (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    locked_until TIMESTAMP NOT NULL,
    last_run_at TIMESTAMP
);
