ALTER TABLE authorities DROP COLUMN retirement_reason;
ALTER TABLE authorities DROP COLUMN retired_at;
ALTER TABLE authorities DROP COLUMN successor_id;
