//! The inbox: one row per platform delivery, payload sealed.

use super::*;

impl CommunityTx<'_, '_> {
    /// Store a platform delivery durably, once per (platform, event id).
    pub async fn insert_inbox(
        &mut self,
        platform: &str,
        event_id: &str,
        event_type: &str,
        payload: &[u8],
        occurred_at: i64,
    ) -> Result<InboxInsert> {
        let community_id = &self.community_id.clone();
        let id = new_id();
        let dek = self.data_key(community_id).await?;
        let sealed = dek.seal(
            classcred_crypto::FieldRef {
                community_id: community_id.as_str(),
                table: "inbox",
                column: "payload_enc",
                row_id: &id,
            },
            payload,
        );
        let stored: Option<String> = sqlx::query_scalar(
            "INSERT INTO inbox (id, community_id, platform, event_id, event_type, payload_enc, occurred_at, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (platform, event_id) DO NOTHING RETURNING id",
        )
        .bind(&id)
        .bind(community_id)
        .bind(platform)
        .bind(event_id)
        .bind(event_type)
        .bind(sealed)
        .bind(occurred_at)
        .bind(self.now_ms())
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(stored.map_or(InboxInsert::Duplicate, InboxInsert::Stored))
    }

    /// One inbox row of a community, decrypted. A row of another community is "not found".
    pub async fn inbox_event(&mut self, id: &str) -> Result<InboxEvent> {
        let community_id = &self.community_id.clone();
        let row = sqlx::query(
            "SELECT id, community_id, platform, event_id, event_type, payload_enc, occurred_at, processed_at, attempts \
             FROM inbox WHERE id = $1 AND community_id = $2",
        )
        .bind(id)
        .bind(community_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "inbox event",
            id: id.to_string(),
        })?;
        let community_id: CommunityId = row.try_get("community_id")?;
        let dek = self.data_key(&community_id).await?;
        let sealed: Vec<u8> = row.try_get("payload_enc")?;
        let payload = open_inbox_payload(&dek, &community_id, id, &sealed)?;
        Ok(InboxEvent {
            id: row.try_get("id")?,
            platform: row.try_get("platform")?,
            event_id: row.try_get("event_id")?,
            event_type: row.try_get("event_type")?,
            occurred_at: row.try_get("occurred_at")?,
            processed_at: row.try_get("processed_at")?,
            attempts: row.try_get("attempts")?,
            payload,
            community_id,
        })
    }

    /// The inbox row of a community with this delivery id, in any state, decrypted (a
    /// processed row's payload has its free text scrubbed; ids, counts and times stay). Used by
    /// adapters whose platform does not repeat what an event refers to (Matrix: the author of a
    /// reacted message, whether a redacted event was a reaction).
    pub async fn inbox_event_by_event_id(
        &mut self,
        platform: &str,
        event_id: &str,
    ) -> Result<Option<InboxEvent>> {
        let community_id = &self.community_id.clone();
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM inbox WHERE community_id = $1 AND platform = $2 AND event_id = $3",
        )
        .bind(community_id)
        .bind(platform)
        .bind(event_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        match id {
            Some(id) => Ok(Some(self.inbox_event(&id).await?)),
            None => Ok(None),
        }
    }

    /// Mark an inbox row of a community processed. A row of another community is "not found".
    pub async fn mark_inbox_processed(&mut self, id: &str) -> Result<()> {
        let community_id = &self.community_id.clone();
        let done = sqlx::query(
            "UPDATE inbox SET processed_at = $2, attempts = attempts + 1, last_error = NULL \
             WHERE id = $1 AND community_id = $3",
        )
        .bind(id)
        .bind(self.now_ms())
        .bind(community_id)
        .execute(&mut *self.tx)
        .await?;
        inbox_found(done.rows_affected(), id)?;
        // Processed: the engine never needs the free text again (the message table keeps it
        // under its author's key), so it leaves the payload now.
        self.scrub_inbox_row(community_id, id).await
    }
}

/// `NotFound` unless an update touched the inbox row.
pub(crate) fn inbox_found(rows: u64, id: &str) -> Result<()> {
    if rows == 0 {
        return Err(StoreError::NotFound {
            what: "inbox event",
            id: id.to_string(),
        });
    }
    Ok(())
}

/// Open an inbox row's sealed payload with its community's data key.
pub(crate) fn open_inbox_payload(
    dek: &classcred_crypto::DataKey,
    community_id: &CommunityId,
    row_id: &str,
    sealed: &[u8],
) -> Result<Vec<u8>> {
    dek.open(
        classcred_crypto::FieldRef {
            community_id: community_id.as_str(),
            table: "inbox",
            column: "payload_enc",
            row_id,
        },
        sealed,
    )
    .map_err(|source| StoreError::Crypto {
        table: "inbox",
        column: "payload_enc",
        row_id: row_id.to_string(),
        source,
    })
}
