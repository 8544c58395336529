-- Tenancy in the schema for the tables of 0014, 0015 and 0017: on PostgreSQL the composite
-- foreign keys of those migrations already refuse a row naming a member of another community
-- (SQLite gets the equivalent triggers in its 0018). Recorded here so both backends share the
-- migration number.
COMMENT ON TABLE policy_ack IS 'each Admin''s acknowledgement of a policy version; (community_id, member_id) references member';
COMMENT ON TABLE breach_notice IS 'each breach notice to an affected Admin; (community_id, member_id) references member';
COMMENT ON TABLE sign_in_record IS 'device data of dashboard sign-ins; (community_id, member_id) references member';
