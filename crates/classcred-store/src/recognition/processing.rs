//! Processing order and state of inbox rows: the community lock, parking, replay input.

use super::*;

/// The batch pick: a community's oldest pending rows, parked rows left out (`$2`: the attempts
/// limit, `$3`: how many). Public for the query-plan test.
pub const PICK_INBOX_ROWS_SQL: &str = "SELECT id FROM inbox WHERE community_id = $1 \
     AND processed_at IS NULL AND attempts < $2 ORDER BY received_at, id LIMIT $3";

impl CommunityTx<'_, '_> {
    /// Take the community's processing lock and the next event sequence number. Everything the
    /// engine reads afterwards in this transaction is current, and no other processing of the
    /// same community interleaves (PostgreSQL row lock; SQLite serialises all writers).
    pub async fn next_event_seq(&mut self) -> Result<i64> {
        let community_id = &self.community_id.clone();
        sqlx::query_scalar(
            "UPDATE community SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
        )
        .bind(community_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "community",
            id: community_id.to_string(),
        })
    }

    /// Set the community's last event sequence number: a batch that took the lock with
    /// [`Self::next_event_seq`] numbers its further rows itself and records the last number
    /// used, once, before its commit. Never lowers it.
    pub async fn set_event_seq(&mut self, seq: i64) -> Result<()> {
        let community_id = &self.community_id.clone();
        sqlx::query("UPDATE community SET event_seq = $2 WHERE id = $1 AND event_seq < $2")
            .bind(community_id)
            .bind(seq)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Mark an inbox row of a community processed at a position in the community's processing
    /// order. A row of another community is "not found".
    pub async fn mark_inbox_processed_at_seq(&mut self, inbox_id: &str, seq: i64) -> Result<()> {
        let community_id = &self.community_id.clone();
        let done = sqlx::query(
            "UPDATE inbox SET processed_at = $2, seq = $3, attempts = attempts + 1, last_error = NULL \
             WHERE id = $1 AND community_id = $4",
        )
        .bind(inbox_id)
        .bind(self.now_ms())
        .bind(seq)
        .bind(community_id)
        .execute(&mut *self.tx)
        .await?;
        crate::model::inbox::inbox_found(done.rows_affected(), inbox_id)?;
        // Processed: free text and profile fields leave the payload (see
        // `erasure::scrub_payload`); the message table keeps the text under its author's key.
        self.scrub_inbox_row(community_id, inbox_id).await
    }

    /// [`Self::mark_inbox_processed_at_seq`] for a row whose decrypted payload the caller
    /// already holds (processing read it to run the event): the mark and the scrubbed payload
    /// are written by one statement, instead of an update, a read and a second update.
    pub async fn mark_inbox_processed_scrubbed(
        &mut self,
        inbox_id: &str,
        seq: i64,
        payload: &[u8],
    ) -> Result<()> {
        let community_id = &self.community_id.clone();
        let scrubbed = match crate::erasure::scrub_payload(payload) {
            Some(new) => {
                let dek = self.data_key(community_id).await?;
                let at = classcred_crypto::FieldRef {
                    community_id: community_id.as_str(),
                    table: "inbox",
                    column: "payload_enc",
                    row_id: inbox_id,
                };
                Some(dek.seal(at, &new))
            }
            None => None,
        };
        let q = match &scrubbed {
            Some(_) => sqlx::query(
                "UPDATE inbox SET processed_at = $2, seq = $3, attempts = attempts + 1, \
                 last_error = NULL, payload_enc = $5 WHERE id = $1 AND community_id = $4",
            ),
            None => sqlx::query(
                "UPDATE inbox SET processed_at = $2, seq = $3, attempts = attempts + 1, \
                 last_error = NULL WHERE id = $1 AND community_id = $4",
            ),
        };
        let mut q = q
            .bind(inbox_id)
            .bind(self.now_ms())
            .bind(seq)
            .bind(community_id);
        if let Some(sealed) = scrubbed {
            q = q.bind(sealed);
        }
        let done = q.execute(&mut *self.tx).await?;
        crate::model::inbox::inbox_found(done.rows_affected(), inbox_id)
    }

    /// Processed inbox events of a community in processing order, decrypted: one query for
    /// the whole list (the payloads are opened with the community key, fetched once).
    pub async fn processed_events(&mut self) -> Result<Vec<ProcessedEvent>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT id, seq, payload_enc FROM inbox WHERE community_id = $1 AND seq IS NOT NULL ORDER BY seq",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let dek = self.data_key(community_id).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            let sealed: Vec<u8> = r.try_get("payload_enc")?;
            let payload =
                crate::model::inbox::open_inbox_payload(&dek, community_id, &id, &sealed)?;
            out.push(ProcessedEvent {
                seq: r.try_get("seq")?,
                inbox_id: id,
                payload,
            });
        }
        Ok(out)
    }

    /// The oldest inbox row not processed yet, skipping parked rows
    /// ([`INBOX_MAX_ATTEMPTS`] failures).
    pub async fn oldest_unprocessed_inbox(&mut self) -> Result<Option<String>> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT id FROM inbox WHERE community_id = $1 AND processed_at IS NULL AND attempts < $2 \
             ORDER BY received_at, id LIMIT 1",
        )
        .bind(community_id)
        .bind(INBOX_MAX_ATTEMPTS)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// The oldest inbox rows not processed yet, skipping parked rows, up to `limit`, in the
    /// order [`Self::oldest_unprocessed_inbox`] takes them one at a time: a batch reads its
    /// rows with one query. (On PostgreSQL a planner without fresh statistics on the inbox —
    /// a backlog that arrived since the last analyse — reads every pending row and sorts them
    /// for this query instead of reading the head of `inbox_pick_order`: paying that once per
    /// batch rather than once per event keeps an event's cost flat in the backlog.)
    pub async fn oldest_unprocessed_inbox_rows(&mut self, limit: i64) -> Result<Vec<String>> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(PICK_INBOX_ROWS_SQL)
            .bind(community_id)
            .bind(INBOX_MAX_ATTEMPTS)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    /// Give parked inbox rows of a community another round of attempts (after the cause was
    /// fixed). Returns how many.
    pub async fn requeue_parked_inbox(&mut self) -> Result<u64> {
        let community_id = &self.community_id.clone();
        let done = sqlx::query(
            "UPDATE inbox SET attempts = 0 WHERE community_id = $1 AND processed_at IS NULL AND attempts >= $2",
        )
        .bind(community_id)
        .bind(INBOX_MAX_ATTEMPTS)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// Count a failed processing attempt of an inbox row of a community; returns the attempts
    /// so far. A row of another community is "not found". `error` must carry ids only.
    pub async fn record_inbox_failure(&mut self, inbox_id: &str, error: &str) -> Result<i64> {
        let community_id = &self.community_id.clone();
        let truncated: String = error.chars().take(500).collect();
        sqlx::query_scalar(
            "UPDATE inbox SET attempts = attempts + 1, last_error = $2 \
             WHERE id = $1 AND community_id = $3 RETURNING attempts",
        )
        .bind(inbox_id)
        .bind(truncated)
        .bind(community_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "inbox event",
            id: inbox_id.to_string(),
        })
    }

    /// How many inbox rows of a community are not processed (including parked ones).
    pub async fn pending_inbox_count(&mut self) -> Result<i64> {
        let community_id = &self.community_id.clone();
        self.sum_i64(
            "SELECT COUNT(*) FROM inbox WHERE community_id = $1 AND processed_at IS NULL",
            &[community_id.as_str()],
        )
        .await
    }
}
