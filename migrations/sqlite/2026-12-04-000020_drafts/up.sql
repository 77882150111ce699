-- Drafts (docs/ui.md): a document a clerk of an organisation is forming (EDE 2.1 steps 1–2)
-- until it is signed by everyone on its route and sent. The files' bytes are in `blobs`,
-- content-addressed like those of sent documents.
CREATE TABLE drafts (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    -- JSON: the optional requisites (EDE 3.2).
    optional TEXT NOT NULL,
    -- JSON: the addressees' organisation ids, in the order chosen.
    addressees TEXT NOT NULL,
    document_name TEXT NOT NULL,
    document_media_type TEXT NOT NULL,
    -- The main document as it stands: unsigned at first, then with every signature so far.
    document_sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    -- JSON: [{name, media_type, sha256}] of the attachments.
    attachments TEXT NOT NULL,
    -- awaiting_signature, ready (every signer signed), sent.
    status TEXT NOT NULL,
    -- The prepared two-step session of the signer whose turn it is, while one is under way.
    signing_session TEXT,
    sent_document_id TEXT,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX drafts_organisation ON drafts (organisation_id, status, created_at);

-- The route for signatures: who signs, in which order, and when each did.
CREATE TABLE draft_signers (
    draft_id TEXT NOT NULL REFERENCES drafts(id),
    position INTEGER NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    signed_at TIMESTAMP,
    PRIMARY KEY (draft_id, position)
);
CREATE INDEX draft_signers_user ON draft_signers (user_id, signed_at);
