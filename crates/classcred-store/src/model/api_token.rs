//! API tokens of the JSON API: one community each, stored as the SHA-256 of the token (the
//! token is shown once, by whoever created it), revocable, with a coarse last-use time.
//!
//! Generating tokens and hashing them is the API crate's business; the store only keeps and
//! finds the hashes. A lookup is an equality match on the hash's unique index, so nothing is
//! compared byte by byte against a secret.

use super::*;

/// The last-use time is written at most once per this many milliseconds (one hour), and
/// truncated to it: enough to tell a live integration from a forgotten one.
pub const API_TOKEN_USE_RESOLUTION_MS: i64 = 3_600_000;

/// A stored API token (without any secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiTokenRecord {
    pub id: String,
    pub community_id: CommunityId,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ApiTokenRecord {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

const API_TOKEN_COLUMNS: &str = "id, community_id, name, created_at, last_used_at, revoked_at";

fn api_token_from_row(r: &AnyRow) -> Result<ApiTokenRecord> {
    Ok(ApiTokenRecord {
        id: r.try_get("id")?,
        community_id: r.try_get("community_id")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

impl CommunityTx<'_, '_> {
    /// Store a new token of this community by its hash (lowercase hex SHA-256).
    pub async fn insert_api_token(
        &mut self,
        name: &str,
        token_hash: &str,
    ) -> Result<ApiTokenRecord> {
        let community_id = &self.community_id.clone();
        let record = ApiTokenRecord {
            id: new_id(),
            community_id: community_id.clone(),
            name: name.to_string(),
            created_at: self.now_ms(),
            last_used_at: None,
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO api_token (id, community_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&record.id)
        .bind(community_id)
        .bind(&record.name)
        .bind(token_hash)
        .bind(record.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(record)
    }

    /// This community's tokens, oldest first, revoked ones included.
    pub async fn list_api_tokens(&mut self) -> Result<Vec<ApiTokenRecord>> {
        let community_id = &self.community_id.clone();
        let sql = format!(
            "SELECT {API_TOKEN_COLUMNS} FROM api_token WHERE community_id = $1 \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(community_id)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(api_token_from_row).collect()
    }

    /// Revoke a token of this community. `false` when this community has no live token with
    /// that id (unknown, another community's, or already revoked).
    pub async fn revoke_api_token(&mut self, token_id: &str) -> Result<bool> {
        let community_id = &self.community_id.clone();
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE api_token SET revoked_at = $3 \
             WHERE community_id = $1 AND id = $2 AND revoked_at IS NULL",
        )
        .bind(community_id)
        .bind(token_id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Tx<'_> {
    /// The token with this hash, revoked or not (the caller refuses revoked ones). Not scoped
    /// to a community: the token is what names its community.
    pub async fn api_token_by_hash(&mut self, token_hash: &str) -> Result<Option<ApiTokenRecord>> {
        let sql = format!("SELECT {API_TOKEN_COLUMNS} FROM api_token WHERE token_hash = $1");
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(api_token_from_row).transpose()
    }

    /// Record that a token was used now, to the hour: written only when the stored time is
    /// older than the current hour, so a busy integration does not write on every request.
    pub async fn touch_api_token(&mut self, token_id: &str) -> Result<()> {
        let now = self.now_ms();
        let hour = now - now.rem_euclid(API_TOKEN_USE_RESOLUTION_MS);
        sqlx::query(
            "UPDATE api_token SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
        )
        .bind(token_id)
        .bind(hour)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
