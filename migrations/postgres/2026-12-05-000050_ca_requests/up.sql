-- Requests the registration officer files and the certificate officer carries out (CSP 13.3:
-- the registration administrator identifies holders at issuance, suspension, restoration and
-- revocation; the certificate administrator makes the certificates and keeps the registers).
CREATE TABLE ca_requests (
    id TEXT PRIMARY KEY NOT NULL,
    -- issue, suspend, restore or revoke.
    kind TEXT NOT NULL,
    -- The certificate a status change is for; the certificate issued, once an issuance is done.
    serial TEXT,
    -- The enrolment (profiles::Enrollment as JSON) an issuance is for.
    enrollment TEXT,
    -- The holder's consent to public lookup (CSP 2.3).
    public_consent BOOLEAN NOT NULL,
    -- A revocation's reason (RFC 5280 name) and invalidity date.
    reason TEXT,
    invalidity_date TIMESTAMP,
    -- What the registration officer noted (the holder's application, the documents checked).
    note TEXT,
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    -- pending, done or rejected.
    status TEXT NOT NULL,
    decided_by TEXT,
    decided_at TIMESTAMP,
    -- Why a request was rejected.
    outcome TEXT
);
CREATE INDEX ca_requests_status ON ca_requests (status, requested_at);
