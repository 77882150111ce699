-- The directory's version (docs/exchange.md "Speed"): every node keeps the directory it reads on
-- each send and delivery (organisations, their home nodes, agreements, categories, trust
-- anchors, peers) in memory, and reads this one row at most once a second to learn whether any
-- process changed it. The triggers bump it in the same transaction as every change, whoever
-- makes it (another node, the command line, a migration).
CREATE TABLE directory_version (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);

CREATE FUNCTION directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER organisations_changed AFTER INSERT OR UPDATE OR DELETE ON organisations
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER remote_organisations_changed AFTER INSERT OR UPDATE OR DELETE ON remote_organisations
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER agreements_changed AFTER INSERT OR UPDATE OR DELETE ON agreements
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER document_categories_changed AFTER INSERT OR UPDATE OR DELETE ON document_categories
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER organisation_trust_anchors_changed AFTER INSERT OR UPDATE OR DELETE ON organisation_trust_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER organisation_trust_lists_changed AFTER INSERT OR UPDATE OR DELETE ON organisation_trust_lists
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER organisation_trust_list_anchors_changed AFTER INSERT OR UPDATE OR DELETE ON organisation_trust_list_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER peers_changed AFTER INSERT OR UPDATE OR DELETE ON peers
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER peer_trust_anchors_changed AFTER INSERT OR UPDATE OR DELETE ON peer_trust_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
