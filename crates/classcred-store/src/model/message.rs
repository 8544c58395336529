//! Messages (text sealed with the community key).

use super::*;

impl CommunityTx<'_, '_> {
    /// Store a message. A message with the same platform id is left as it is; returns its id.
    pub async fn insert_message(&mut self, new: &NewMessage) -> Result<String> {
        let community_id = &self.community_id.clone();
        let id = new_id();
        // Sealed with the author's key (the community key when there is no author member).
        let key = self
            .sealing_key(community_id, new.author_member_id.as_deref(), true)
            .await?;
        let text = key
            .as_deref()
            .and_then(|k| seal_opt(k, community_id, "message", "text_enc", &id, Some(&new.text)));
        let inserted: Option<String> = sqlx::query_scalar(
            "INSERT INTO message (id, community_id, platform_message_id, channel_id, author_member_id, \
             thread_id, text_enc, posted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (community_id, platform_message_id) DO NOTHING RETURNING id",
        )
        .bind(&id)
        .bind(community_id)
        .bind(&new.platform_message_id)
        .bind(&new.channel_id)
        .bind(&new.author_member_id)
        .bind(&new.thread_id)
        .bind(text)
        .bind(new.posted_at)
        .fetch_optional(&mut *self.tx)
        .await?;
        match inserted {
            Some(id) => Ok(id),
            None => Ok(sqlx::query_scalar(
                "SELECT id FROM message WHERE community_id = $1 AND platform_message_id = $2",
            )
            .bind(community_id)
            .bind(&new.platform_message_id)
            .fetch_one(&mut *self.tx)
            .await?),
        }
    }

    pub async fn list_messages(&mut self) -> Result<Vec<Message>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT id, community_id, platform_message_id, channel_id, author_member_id, thread_id, \
             text_enc, posted_at, edited_at, deleted_at FROM message WHERE community_id = $1 \
             ORDER BY posted_at, id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            let author: Option<String> = r.try_get("author_member_id")?;
            let key = self
                .sealing_key(community_id, author.as_deref(), false)
                .await?;
            let text = match key {
                Some(k) => open_opt(&k, r, community_id, "message", "text_enc", &id)?,
                None => None,
            };
            out.push(Message {
                text,
                community_id: r.try_get("community_id")?,
                platform_message_id: r.try_get("platform_message_id")?,
                channel_id: r.try_get("channel_id")?,
                author_member_id: r.try_get("author_member_id")?,
                thread_id: r.try_get("thread_id")?,
                posted_at: r.try_get("posted_at")?,
                edited_at: r.try_get("edited_at")?,
                deleted_at: r.try_get("deleted_at")?,
                id,
            });
        }
        Ok(out)
    }
}
