-- RFC 4998 evidence records beside the archive (docs/archive.md): per archived object — an
-- envelope (a blob) or a journal checkpoint's signature — its current record, renewed by the
-- job renew_archive_evidence before its newest timestamp or its hash stops proving anything.
CREATE TABLE archive_evidence (
    -- SHA-256 (hex) of the object's bytes.
    object_sha256 TEXT PRIMARY KEY NOT NULL,
    -- envelope or checkpoint.
    kind TEXT NOT NULL,
    -- Where the bytes are: the blob's SHA-256, or organisation/journal/seq of the checkpoint.
    source TEXT NOT NULL,
    -- The EvidenceRecord in DER.
    record BLOB NOT NULL,
    -- What the renewal run selects on without decoding every record: the newest chain's hash
    -- (policy name, e.g. sha256), and the newest timestamp's TSA certificate and its end.
    digest_algorithm TEXT NOT NULL,
    tsa_certificate_sha256 TEXT NOT NULL,
    tsa_not_after TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    renewed_at TIMESTAMP NOT NULL
);
CREATE INDEX archive_evidence_tsa_not_after ON archive_evidence (tsa_not_after);
CREATE INDEX archive_evidence_source ON archive_evidence (kind, source);
