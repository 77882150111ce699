ALTER TABLE transfers DROP COLUMN claimed_until;
ALTER TABLE transfers DROP COLUMN claimed_by;
