-- The personal identification number (FIN) of a person using the platform, as the subject
-- serialNumber of their signature certificates carries it (GOV 3.2): a signer of a draft signs
-- only with a certificate issued to this FIN.
ALTER TABLE users ADD COLUMN fin TEXT;
