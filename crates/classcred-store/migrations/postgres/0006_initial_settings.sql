-- The settings a community was created with. Settings change only through engine events
-- (`settings_changed` in the inbox), so `ledger replay` starts from these and applies the
-- changes in processing order. Existing communities start from their current settings.
ALTER TABLE community ADD COLUMN initial_settings TEXT NOT NULL DEFAULT '{}';
UPDATE community SET initial_settings = settings;
