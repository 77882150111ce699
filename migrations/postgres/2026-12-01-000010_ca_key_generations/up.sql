-- CSP 4.4: a CA whose key is changed stays in the register as a retired generation, naming the
-- generation that replaced it; only a CA without a successor issues.
ALTER TABLE authorities ADD COLUMN successor_id TEXT REFERENCES authorities(id);
ALTER TABLE authorities ADD COLUMN retired_at TIMESTAMP;
ALTER TABLE authorities ADD COLUMN retirement_reason TEXT
    CHECK (retirement_reason IS NULL OR retirement_reason IN ('planned', 'compromise'));
