DROP INDEX api_clients_certificate_subject;
ALTER TABLE api_clients DROP COLUMN certificate_subject;
