-- The exchange engine (EDE): the directory of organisations, API clients, agreements between
-- organisations, document categories, content-addressed document bytes, documents and their
-- deliveries, numbering counters and the registration journals.
CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    tax_id TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    phone TEXT,
    email TEXT NOT NULL,
    seal_key_ref TEXT,
    seal_certificate BLOB,
    webhook_url TEXT,
    webhook_secret TEXT,
    created_at TIMESTAMP NOT NULL
);

-- GOV 1.3: further certification authorities an organisation accepts signatures from.
CREATE TABLE organisation_trust_anchors (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    sha256 TEXT NOT NULL,
    subject TEXT NOT NULL,
    certificate BLOB NOT NULL,
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organisation_id, sha256)
);

CREATE TABLE api_clients (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('agency_system', 'automated_system')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX api_clients_organisation ON api_clients (organisation_id);

CREATE TABLE agreements (
    sender_id TEXT NOT NULL REFERENCES organisations(id),
    recipient_id TEXT NOT NULL REFERENCES organisations(id),
    receipt_kind TEXT NOT NULL CHECK (receipt_kind IN ('automatic', 'signed')),
    term_hours BIGINT NOT NULL,
    PRIMARY KEY (sender_id, recipient_id)
);

CREATE TABLE document_categories (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    exchangeable BOOLEAN NOT NULL,
    retention_years INTEGER NOT NULL,
    PRIMARY KEY (organisation_id, name)
);

CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size BIGINT NOT NULL,
    content BLOB NOT NULL
);

CREATE TABLE numbering_counters (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    series TEXT NOT NULL,
    next_value BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, series)
);

CREATE TABLE documents (
    id TEXT PRIMARY KEY NOT NULL,
    sender_id TEXT NOT NULL REFERENCES organisations(id),
    message_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    registration_number TEXT NOT NULL,
    registration_date TIMESTAMP NOT NULL,
    requisites TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    envelope_sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    sent_by TEXT NOT NULL,
    sent_by_kind TEXT NOT NULL CHECK (sent_by_kind IN ('sender', 'authorised_person', 'automated_system')),
    sent_at TIMESTAMP NOT NULL,
    search_text TEXT NOT NULL,
    UNIQUE (sender_id, message_id)
);
CREATE INDEX documents_sender_sent ON documents (sender_id, sent_at);
CREATE UNIQUE INDEX documents_sender_number ON documents (sender_id, registration_number);
CREATE INDEX documents_content ON documents (content_sha256);

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    document_id TEXT NOT NULL REFERENCES documents(id),
    recipient_id TEXT NOT NULL REFERENCES organisations(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'awaiting_receipt', 'acknowledged', 'refused', 'duplicate', 'not_sent')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    delivered_at TIMESTAMP,
    decided_at TIMESTAMP,
    incoming_number TEXT,
    reason TEXT,
    duplicate_of TEXT REFERENCES deliveries(id),
    report TEXT,
    signature_result TEXT,
    evidence_sha256 TEXT REFERENCES blobs(sha256),
    receipt_kind TEXT NOT NULL CHECK (receipt_kind IN ('automatic', 'signed')),
    receipt_sha256 TEXT REFERENCES blobs(sha256),
    term_hours BIGINT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    overdue_at TIMESTAMP,
    UNIQUE (document_id, recipient_id)
);
CREATE INDEX deliveries_pending ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_recipient ON deliveries (recipient_id, id);
CREATE INDEX deliveries_document ON deliveries (document_id);
CREATE INDEX deliveries_due ON deliveries (status, due_at);

CREATE TABLE journal_entries (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    journal TEXT NOT NULL CHECK (journal IN ('outgoing', 'incoming')),
    seq BIGINT NOT NULL,
    at TIMESTAMP NOT NULL,
    event TEXT NOT NULL,
    document_id TEXT NOT NULL REFERENCES documents(id),
    registration_number TEXT NOT NULL,
    counterparty_id TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (organisation_id, journal, seq)
);
CREATE INDEX journal_entries_document ON journal_entries (document_id);

CREATE TABLE journal_checkpoints (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    journal TEXT NOT NULL CHECK (journal IN ('outgoing', 'incoming')),
    seq BIGINT NOT NULL,
    head TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    statement BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (organisation_id, journal, seq)
);

CREATE TABLE webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    url TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at TIMESTAMP,
    last_error TEXT
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox (delivered_at, next_attempt_at);
