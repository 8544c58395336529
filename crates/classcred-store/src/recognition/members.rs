//! Members as the engine sees them: ids, role, kind, level.

use super::*;

impl CommunityTx<'_, '_> {
    /// Member ids by platform user id, without decrypting anything.
    pub async fn member_ids_by_platform(&mut self) -> Result<Vec<(String, MemberRowId)>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT platform_user_id, id FROM member WHERE community_id = $1 ORDER BY platform_user_id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("platform_user_id")?, r.try_get("id")?)))
            .collect()
    }

    /// The member id of a platform user, if known.
    pub async fn member_id_by_platform(
        &mut self,
        platform_user_id: &str,
    ) -> Result<Option<MemberRowId>> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT id FROM member WHERE community_id = $1 AND platform_user_id = $2",
        )
        .bind(community_id)
        .bind(platform_user_id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Create a member known only by platform id, with no profile (a joining event whose member
    /// has no row yet).
    pub async fn insert_bare_member(
        &mut self,
        platform_user_id: &str,
        role: Role,
        kind: MemberKind,
    ) -> Result<MemberRowId> {
        let community_id = &self.community_id.clone();
        let id = MemberRowId::new_row();
        let now = self.now_ms();
        sqlx::query(
            "INSERT INTO member (id, community_id, platform_user_id, role, kind, joined_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(community_id)
        .bind(platform_user_id)
        .bind(role.as_str())
        .bind(kind.as_str())
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Role and kind of a member.
    pub async fn member_role_kind(
        &mut self,
        member_id: &MemberRowId,
    ) -> Result<Option<(Role, MemberKind)>> {
        let community_id = &self.community_id.clone();
        let row = sqlx::query("SELECT role, kind FROM member WHERE community_id = $1 AND id = $2")
            .bind(community_id)
            .bind(member_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.map(|r| {
            Ok((
                Role::parse(&r.try_get::<String, _>("role")?)?,
                MemberKind::parse(&r.try_get::<String, _>("kind")?)?,
            ))
        })
        .transpose()
    }

    /// How many members of the community hold `role` (e.g. the Admins, for the last-Admin
    /// guard of a role change).
    pub async fn count_members_with_role(&mut self, role: Role) -> Result<i64> {
        let community_id = &self.community_id.clone();
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM member WHERE community_id = $1 AND role = $2")
                .bind(community_id)
                .bind(role.as_str())
                .fetch_one(&mut *self.tx)
                .await?,
        )
    }

    pub async fn set_member_role_kind(
        &mut self,
        member_id: &MemberRowId,
        role: Role,
        kind: MemberKind,
    ) -> Result<()> {
        let community_id = &self.community_id.clone();
        sqlx::query("UPDATE member SET role = $3, kind = $4 WHERE community_id = $1 AND id = $2")
            .bind(community_id)
            .bind(member_id)
            .bind(role.as_str())
            .bind(kind.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn member_level(&mut self, member_id: &MemberRowId) -> Result<i64> {
        let community_id = &self.community_id.clone();
        Ok(
            sqlx::query_scalar("SELECT level FROM member WHERE community_id = $1 AND id = $2")
                .bind(community_id)
                .bind(member_id)
                .fetch_optional(&mut *self.tx)
                .await?
                .unwrap_or(0),
        )
    }

    pub async fn set_member_level(&mut self, member_id: &MemberRowId, level: i64) -> Result<()> {
        let community_id = &self.community_id.clone();
        sqlx::query(
            "UPDATE member SET level = $3 WHERE community_id = $1 AND id = $2 AND level < $3",
        )
        .bind(community_id)
        .bind(member_id)
        .bind(level)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The pending (unprocessed, not parked) inbox row of a community with this delivery id,
    /// e.g. a member's `join:…` row, which processing takes before events that mention them.
    pub async fn pending_inbox_by_event_id(
        &mut self,
        platform: &str,
        event_id: &str,
    ) -> Result<Option<String>> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT id FROM inbox WHERE platform = $2 AND event_id = $3 AND community_id = $1 \
             AND processed_at IS NULL AND attempts < $4",
        )
        .bind(community_id)
        .bind(platform)
        .bind(event_id)
        .bind(INBOX_MAX_ATTEMPTS)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Whether a platform id was looked up and found not to be a member of the community.
    pub async fn is_platform_non_member(&mut self, platform_user_id: &str) -> Result<bool> {
        let community_id = &self.community_id.clone();
        let found: Option<String> = sqlx::query_scalar(
            "SELECT reason FROM platform_non_member WHERE community_id = $1 AND platform_user_id = $2",
        )
        .bind(community_id)
        .bind(platform_user_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(found.is_some())
    }

    /// Record that a platform id is not a member (`reason`: ids and words only). Idempotent.
    pub async fn mark_platform_non_member(
        &mut self,
        platform_user_id: &str,
        reason: &str,
    ) -> Result<()> {
        let community_id = &self.community_id.clone();
        let now = self.now_ms();
        sqlx::query(
            "INSERT INTO platform_non_member (community_id, platform_user_id, reason, resolved_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (community_id, platform_user_id) DO NOTHING",
        )
        .bind(community_id)
        .bind(platform_user_id)
        .bind(reason)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The platform's modification time of the member's profile last applied, if any.
    pub async fn member_profile_version(&mut self, platform_user_id: &str) -> Result<Option<i64>> {
        let community_id = &self.community_id.clone();
        let v: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT profile_version FROM member WHERE community_id = $1 AND platform_user_id = $2",
        )
        .bind(community_id)
        .bind(platform_user_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(v.flatten())
    }

    /// Record the platform's modification time of the profile just applied.
    pub async fn set_member_profile_version(
        &mut self,
        platform_user_id: &str,
        version: i64,
    ) -> Result<()> {
        let community_id = &self.community_id.clone();
        sqlx::query(
            "UPDATE member SET profile_version = $3 WHERE community_id = $1 AND platform_user_id = $2",
        )
        .bind(community_id)
        .bind(platform_user_id)
        .bind(version)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
