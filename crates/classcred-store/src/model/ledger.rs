//! The append-only points ledger.

use super::*;

impl CommunityTx<'_, '_> {
    /// Append a ledger entry. Returns `false` (and writes nothing) when an entry with the same
    /// idempotency key already exists in the community.
    pub async fn insert_ledger_entry(&mut self, new: &NewLedgerEntry) -> Result<bool> {
        let community_id = &self.community_id.clone();
        let id = new_id();
        // The note is sealed with the key of the member the entry is about.
        let note = match new.note.as_deref() {
            Some(n) => self
                .member_key_for_write(community_id, new.member_id.as_str())
                .await?
                .and_then(|k| seal_opt(&k, community_id, "ledger_entry", "note_enc", &id, Some(n))),
            None => None,
        };
        let stored: Option<String> = sqlx::query_scalar(
            "INSERT INTO ledger_entry (id, community_id, member_id, kind, amount_milli, idempotency_key, \
             giver_member_id, giver_role, source_ref, quota_day, iso_week, quota_units, fire_units, note_enc, \
             occurred_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (community_id, idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(&id)
        .bind(community_id)
        .bind(&new.member_id)
        .bind(&new.kind)
        .bind(new.amount_milli)
        .bind(&new.idempotency_key)
        .bind(&new.giver_member_id)
        .bind(&new.giver_role)
        .bind(&new.source_ref)
        .bind(&new.quota_day)
        .bind(&new.iso_week)
        .bind(new.quota_units)
        .bind(new.fire_units)
        .bind(note)
        .bind(new.occurred_at)
        .bind(self.now_ms())
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(stored.is_some())
    }

    pub async fn ledger(&mut self) -> Result<Vec<LedgerEntry>> {
        let community_id = &self.community_id.clone();
        let sql = format!(
            "SELECT {LEDGER_COLUMNS} FROM ledger_entry WHERE community_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(community_id)
            .fetch_all(&mut *self.tx)
            .await?;
        self.open_ledger_rows(&rows).await
    }

    /// One page of the ledger, newest first (by `created_at`, then id): at most `limit`
    /// entries strictly older than `before` (`(created_at, id)` of the last entry of the
    /// previous page), or the newest when `None`.
    pub async fn ledger_page(
        &mut self,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<LedgerEntry>> {
        let community_id = &self.community_id.clone();
        let (before_at, before_id) = before.map_or((None, None), |(at, id)| (Some(at), Some(id)));
        let sql = format!(
            "SELECT {LEDGER_COLUMNS} FROM ledger_entry WHERE community_id = $1 \
             AND ($2 IS NULL OR created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(community_id)
            .bind(before_at)
            .bind(before_id)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?;
        self.open_ledger_rows(&rows).await
    }

    /// Sum of ledger amounts per member (thousandths), from the ledger alone.
    pub async fn ledger_totals(&mut self) -> Result<Vec<(MemberRowId, i64)>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT member_id, CAST(SUM(amount_milli) AS BIGINT) AS total FROM ledger_entry \
             WHERE community_id = $1 GROUP BY member_id ORDER BY member_id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("member_id")?, r.try_get("total")?)))
            .collect()
    }
}

impl CommunityTx<'_, '_> {
    /// Ledger rows, each note opened with the key of the member it is about (`None` once
    /// that member was erased). Needs the community key, even for rows without a note.
    async fn open_ledger_rows(&mut self, rows: &[AnyRow]) -> Result<Vec<LedgerEntry>> {
        let community_id = &self.community_id.clone();
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        self.data_key(community_id).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let has_note = r.try_get::<Option<Vec<u8>>, _>("note_enc")?.is_some();
            let key = if has_note {
                let member: String = r.try_get("member_id")?;
                self.member_key(community_id, &member).await?
            } else {
                None
            };
            out.push(ledger_entry_from_row(key.as_deref(), community_id, r)?);
        }
        Ok(out)
    }
}

fn ledger_entry_from_row(
    key: Option<&classcred_crypto::DataKey>,
    community_id: &CommunityId,
    r: &AnyRow,
) -> Result<LedgerEntry> {
    let id: String = r.try_get("id")?;
    Ok(LedgerEntry {
        entry: NewLedgerEntry {
            note: match key {
                Some(k) => open_opt(k, r, community_id, "ledger_entry", "note_enc", &id)?,
                None => None,
            },
            member_id: r.try_get("member_id")?,
            kind: r.try_get("kind")?,
            amount_milli: r.try_get("amount_milli")?,
            idempotency_key: r.try_get("idempotency_key")?,
            giver_member_id: r.try_get("giver_member_id")?,
            giver_role: r.try_get("giver_role")?,
            source_ref: r.try_get("source_ref")?,
            quota_day: r.try_get("quota_day")?,
            iso_week: r.try_get("iso_week")?,
            quota_units: r.try_get("quota_units")?,
            fire_units: r.try_get("fire_units")?,
            occurred_at: r.try_get("occurred_at")?,
        },
        community_id: r.try_get("community_id")?,
        created_at: r.try_get("created_at")?,
        id,
    })
}
