-- Tenancy in the schema for the tables of 0014, 0015 and 0017: a row of one community cannot
-- name a member of another. PostgreSQL has composite foreign keys (community_id, member_id) →
-- member (community_id, id) from those migrations; SQLite gets the equivalent triggers here,
-- as 0003 and 0011 did for the older tables.
CREATE TRIGGER policy_ack_member_id_same_community_insert BEFORE INSERT ON policy_ack
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: policy_ack.member_id names a member of another community');
END;
CREATE TRIGGER policy_ack_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON policy_ack
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: policy_ack.member_id names a member of another community');
END;
CREATE TRIGGER breach_notice_member_id_same_community_insert BEFORE INSERT ON breach_notice
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: breach_notice.member_id names a member of another community');
END;
CREATE TRIGGER breach_notice_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON breach_notice
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: breach_notice.member_id names a member of another community');
END;
CREATE TRIGGER sign_in_record_member_id_same_community_insert BEFORE INSERT ON sign_in_record
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: sign_in_record.member_id names a member of another community');
END;
CREATE TRIGGER sign_in_record_member_id_same_community_update BEFORE UPDATE OF community_id, member_id ON sign_in_record
WHEN NOT EXISTS
    (SELECT 1 FROM member WHERE id = NEW.member_id AND community_id = NEW.community_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: sign_in_record.member_id names a member of another community');
END;
