-- The directory's version (docs/exchange.md "Speed"): every node keeps the directory it reads on
-- each send and delivery (organisations, their home nodes, agreements, categories, trust
-- anchors, peers) in memory, and reads this one row at most once a second to learn whether any
-- process changed it. The triggers bump it in the same transaction as every change, whoever
-- makes it (another process, such as the command line, or a migration).
CREATE TABLE directory_version (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);

CREATE TRIGGER organisations_inserted AFTER INSERT ON organisations
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER organisations_updated AFTER UPDATE ON organisations
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER organisations_deleted AFTER DELETE ON organisations
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER remote_organisations_inserted AFTER INSERT ON remote_organisations
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER remote_organisations_updated AFTER UPDATE ON remote_organisations
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER remote_organisations_deleted AFTER DELETE ON remote_organisations
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER agreements_inserted AFTER INSERT ON agreements
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER agreements_updated AFTER UPDATE ON agreements
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER agreements_deleted AFTER DELETE ON agreements
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER document_categories_inserted AFTER INSERT ON document_categories
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER document_categories_updated AFTER UPDATE ON document_categories
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER document_categories_deleted AFTER DELETE ON document_categories
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER organisation_trust_anchors_inserted AFTER INSERT ON organisation_trust_anchors
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER organisation_trust_anchors_updated AFTER UPDATE ON organisation_trust_anchors
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER organisation_trust_anchors_deleted AFTER DELETE ON organisation_trust_anchors
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER organisation_trust_lists_inserted AFTER INSERT ON organisation_trust_lists
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER organisation_trust_lists_updated AFTER UPDATE ON organisation_trust_lists
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER organisation_trust_lists_deleted AFTER DELETE ON organisation_trust_lists
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER organisation_trust_list_anchors_inserted AFTER INSERT ON organisation_trust_list_anchors
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER organisation_trust_list_anchors_updated AFTER UPDATE ON organisation_trust_list_anchors
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER organisation_trust_list_anchors_deleted AFTER DELETE ON organisation_trust_list_anchors
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER peers_inserted AFTER INSERT ON peers
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER peers_updated AFTER UPDATE ON peers
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER peers_deleted AFTER DELETE ON peers
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER peer_trust_anchors_inserted AFTER INSERT ON peer_trust_anchors
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER peer_trust_anchors_updated AFTER UPDATE ON peer_trust_anchors
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER peer_trust_anchors_deleted AFTER DELETE ON peer_trust_anchors
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;
