ALTER TABLE users DROP COLUMN language;
DROP TABLE sign_in_failures;
DROP TABLE ui_sessions;
