DROP TABLE published_trust_lists;
DROP TABLE organisation_trust_list_anchors;
DROP TABLE organisation_trust_lists;
