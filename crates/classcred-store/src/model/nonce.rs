//! Single-use nonces (the OAuth install `state`): consumed once, in the caller's transaction,
//! and remembered only until they expire.

use super::*;

impl Tx<'_> {
    /// Record `nonce` as used until `expires_at` (Unix seconds), forgetting nonces that expired
    /// before `now` (Unix seconds). `false` when it was used before: the caller refuses it.
    pub async fn consume_nonce(&mut self, nonce: &str, expires_at: i64, now: i64) -> Result<bool> {
        sqlx::query("DELETE FROM oauth_state_used WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        let fresh: Option<String> = sqlx::query_scalar(
            "INSERT INTO oauth_state_used (nonce, expires_at) VALUES ($1, $2) \
             ON CONFLICT (nonce) DO NOTHING RETURNING nonce",
        )
        .bind(nonce)
        .bind(expires_at)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(fresh.is_some())
    }
}
