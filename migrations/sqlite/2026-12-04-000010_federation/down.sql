DROP TABLE sealed_receipts;
DROP TABLE transfers;
DROP TABLE remote_organisations;
DROP TABLE peer_trust_anchors;
DROP TABLE peers;
