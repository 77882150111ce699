-- Federation: other Mübadilə nodes this node exchanges envelopes with over mutual TLS, the
-- organisations whose home is one of them, and the transfers of envelopes to them (an outbox
-- written in the send transaction, so a crash loses or duplicates nothing).
CREATE TABLE peers (
    id TEXT PRIMARY KEY NOT NULL,
    base_url TEXT NOT NULL,
    added_at TIMESTAMP NOT NULL
);

-- The roots of the peer's CA: they verify its TLS server and client certificates and the seals
-- and signatures of its organisations.
CREATE TABLE peer_trust_anchors (
    peer_id TEXT NOT NULL REFERENCES peers(id),
    sha256 TEXT NOT NULL,
    subject TEXT NOT NULL,
    certificate BYTEA NOT NULL,
    PRIMARY KEY (peer_id, sha256)
);

CREATE TABLE remote_organisations (
    organisation_id TEXT PRIMARY KEY NOT NULL REFERENCES organisations(id),
    peer_id TEXT NOT NULL REFERENCES peers(id)
);

-- One row per delivery to an organisation of another node (sender side).
CREATE TABLE transfers (
    delivery_id TEXT PRIMARY KEY NOT NULL REFERENCES deliveries(id),
    peer_id TEXT NOT NULL REFERENCES peers(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'awaiting_receipt', 'done')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    last_error TEXT,
    done_at TIMESTAMP
);
CREATE INDEX transfers_due ON transfers (status, next_attempt_at);

-- Receiver side: the receipt answered to the sending node, sealed once by the recipient and
-- answered again, byte for byte, to every repeat (EDE 4.3.3).
CREATE TABLE sealed_receipts (
    delivery_id TEXT PRIMARY KEY NOT NULL REFERENCES deliveries(id),
    sha256 TEXT NOT NULL REFERENCES blobs(sha256)
);
