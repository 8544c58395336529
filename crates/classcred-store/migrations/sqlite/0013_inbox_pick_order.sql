-- A worker picks its community's oldest pending inbox row with
--   WHERE community_id = $1 AND processed_at IS NULL AND attempts < $2 ORDER BY received_at, id LIMIT 1
-- inbox_pending (community_id, processed_at, occurred_at) finds the pending rows but not in that
-- order, so every pick sorted the whole backlog: draining n rows cost O(n²). This index holds
-- only pending rows, in pick order: each pick reads the first entry.
CREATE INDEX inbox_pick_order ON inbox (community_id, received_at, id) WHERE processed_at IS NULL;
