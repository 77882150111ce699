-- A claim on a transfer (a lease): the worker that set it posts the transfer and no other until
-- `claimed_until` passes, so several nodes on one database never post a transfer twice at once,
-- and one that dies holding a transfer leaves it to the next worker once the lease runs out.
ALTER TABLE transfers ADD COLUMN claimed_by TEXT;
ALTER TABLE transfers ADD COLUMN claimed_until TIMESTAMP;
