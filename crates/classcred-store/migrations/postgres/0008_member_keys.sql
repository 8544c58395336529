-- Per-member data keys live in the key store (schema classcred_keys, created from code at
-- migrate time); the data keeps only when a member was erased. Community data keys moved to
-- the key store too: community_key.wrapped_key is NULL from now on (metadata stays).
ALTER TABLE member ADD COLUMN erased_at BIGINT;
