-- Agencies' systems may authenticate with a TLS client certificate from the platform's CA instead
-- of a bearer token: the client is bound to the certificate's subject, so a certificate re-issued
-- with the same subject (renewal, CSP 4.4) keeps working and a revoked one stops at once.
ALTER TABLE api_clients ADD COLUMN certificate_subject TEXT;
CREATE UNIQUE INDEX api_clients_certificate_subject ON api_clients (certificate_subject);
