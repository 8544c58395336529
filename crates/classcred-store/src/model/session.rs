//! Dashboard web sessions: created at sign-in (inside the transaction that consumes the login
//! link), found by the SHA-256 of the browser's cookie value, ended by expiry or revocation.
//! The caller hashes; the store never sees the cookie value.

use super::*;

/// A live web session: who is signed in, with the member's role as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub community_id: CommunityId,
    pub member_id: MemberRowId,
    pub role: Role,
    /// Milliseconds since the epoch after which the session is over.
    pub expires_at: i64,
}

impl CommunityTx<'_, '_> {
    /// Record a new session of `member_id` of this community under `id_hash` (hex SHA-256 of
    /// the cookie value), valid until `expires_at` (ms). Sessions that ended before now are
    /// deleted on the way.
    pub async fn create_web_session(
        &mut self,
        id_hash: &str,
        member_id: &MemberRowId,
        expires_at: i64,
    ) -> Result<()> {
        let community_id = &self.community_id.clone();
        let now = self.now_ms();
        sqlx::query("DELETE FROM web_session WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO web_session (id_hash, community_id, member_id, created_at, expires_at) \
             SELECT $1, community_id, id, $4, $5 FROM member WHERE community_id = $2 AND id = $3",
        )
        .bind(id_hash)
        .bind(community_id)
        .bind(member_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::from)
        .and_then(|done| match done.rows_affected() {
            1 => Ok(()),
            _ => Err(StoreError::NotFound {
                what: "member",
                id: member_id.to_string(),
            }),
        })
    }
}

impl Tx<'_> {
    /// The live session (not revoked, not expired at the store's clock) stored under `id_hash`.
    pub async fn web_session(&mut self, id_hash: &str) -> Result<Option<WebSession>> {
        let now = self.now_ms();
        let row = sqlx::query(
            "SELECT s.community_id, s.member_id, s.expires_at, m.role FROM web_session s \
             JOIN member m ON m.id = s.member_id AND m.community_id = s.community_id \
             WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(|r| {
            Ok(WebSession {
                community_id: r.try_get("community_id")?,
                member_id: r.try_get("member_id")?,
                role: Role::parse(&r.try_get::<String, _>("role")?)?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// End the session stored under `id_hash` now. `false` when there was no live one.
    pub async fn revoke_web_session(&mut self, id_hash: &str) -> Result<bool> {
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE web_session SET revoked_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL",
        )
        .bind(id_hash)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
