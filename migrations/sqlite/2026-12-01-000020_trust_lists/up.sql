-- ACC 1.2, GOV 1.3: the signed trust list (ETSI TS 119 612) of accredited centres an
-- organisation accepts, one per organisation, and the CA certificates it grants, which count as
-- the organisation's trust anchors beside those added one by one (organisation_trust_anchors).
CREATE TABLE organisation_trust_lists (
    organisation_id TEXT PRIMARY KEY NOT NULL REFERENCES organisations(id),
    sequence BIGINT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    next_update TIMESTAMP NOT NULL,
    operator TEXT NOT NULL,
    signer_sha256 TEXT NOT NULL,
    signer_subject TEXT NOT NULL,
    list BLOB NOT NULL,
    imported_at TIMESTAMP NOT NULL
);

CREATE TABLE organisation_trust_list_anchors (
    organisation_id TEXT NOT NULL REFERENCES organisation_trust_lists(organisation_id),
    sha256 TEXT NOT NULL,
    subject TEXT NOT NULL,
    certificate BLOB NOT NULL,
    PRIMARY KEY (organisation_id, sha256)
);

-- The trust lists this platform published about its own CA, sealed by the scheme operator
-- organisation; kept (CSP 15) and numbered without gaps (TSLSequenceNumber).
CREATE TABLE published_trust_lists (
    sequence BIGINT PRIMARY KEY NOT NULL,
    operator_id TEXT NOT NULL REFERENCES organisations(id),
    issued_at TIMESTAMP NOT NULL,
    next_update TIMESTAMP NOT NULL,
    list BLOB NOT NULL
);
