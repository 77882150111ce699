ALTER TABLE blobs DROP COLUMN erased_at;
DROP TABLE legal_holds;
DROP TABLE disposals;
DROP INDEX users_organisation;
ALTER TABLE users DROP COLUMN department_id;
ALTER TABLE users DROP COLUMN organisation_id;
DROP TABLE departments;
