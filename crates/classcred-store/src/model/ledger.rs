//! The append-only points ledger.

use super::*;

/// Rows per multi-row ledger insert (16 values each: well under both backends' parameter limits).
const LEDGER_INSERT_ROWS: usize = 500;

impl CommunityTx<'_, '_> {
    /// Append a ledger entry. Returns `false` (and writes nothing) when an entry with the same
    /// idempotency key already exists in the community. The maintained aggregates
    /// (`member_points`, `member_period_points`) are updated in the same transaction.
    pub async fn insert_ledger_entry(&mut self, new: &NewLedgerEntry) -> Result<bool> {
        Ok(self
            .insert_ledger_entries(std::slice::from_ref(new))
            .await?
            .first()
            .copied()
            .unwrap_or(false))
    }

    /// Append ledger entries with multi-row inserts; for each entry, whether it was written
    /// (`false`: an entry with its idempotency key already existed, nothing written for it).
    /// The maintained aggregates (`member_points`, `member_period_points`, `award_pair`) are
    /// updated with the written entries in the same transaction, so they never disagree with
    /// the ledger.
    pub async fn insert_ledger_entries(&mut self, entries: &[NewLedgerEntry]) -> Result<Vec<bool>> {
        let community_id = &self.community_id.clone();
        let mut written = vec![false; entries.len()];
        if entries.is_empty() {
            return Ok(written);
        }
        // The period rows in the settings' timezone first: a rebuild reads the ledger, which
        // must not hold these entries yet (they are added below).
        let tz = self.ensure_points_zone().await?;
        // A new points version before any aggregate row is written (same transaction): kept
        // leaderboards are not reused after this commits, and the community's version row is
        // always locked before its member rows (one lock order for concurrent writers).
        self.bump_points_version().await?;
        let now = self.now_ms();
        // Ids in UUIDv7 order and notes sealed with the key of the member each entry is about.
        let mut rows: Vec<(String, Option<Vec<u8>>)> = Vec::with_capacity(entries.len());
        for new in entries {
            let id = new_id();
            let note = match new.note.as_deref() {
                Some(n) => self
                    .member_key_for_write(community_id, new.member_id.as_str())
                    .await?
                    .and_then(|k| {
                        seal_opt(&k, community_id, "ledger_entry", "note_enc", &id, Some(n))
                    }),
                None => None,
            };
            rows.push((id, note));
        }
        const COLS: usize = 16;
        for (chunk_no, chunk) in entries.chunks(LEDGER_INSERT_ROWS).enumerate() {
            let base = chunk_no * LEDGER_INSERT_ROWS;
            let mut sql = String::from(
                "INSERT INTO ledger_entry (id, community_id, member_id, kind, amount_milli, idempotency_key, \
                 giver_member_id, giver_role, source_ref, quota_day, iso_week, quota_units, fire_units, note_enc, \
                 occurred_at, created_at) VALUES ",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for c in 0..COLS {
                    if c > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("${}", i * COLS + c + 1));
                }
                sql.push(')');
            }
            sql.push_str(" ON CONFLICT (community_id, idempotency_key) DO NOTHING RETURNING id");
            let mut q = sqlx::query_scalar::<_, String>(&sql);
            for (i, new) in chunk.iter().enumerate() {
                let (id, note) = &rows[base + i];
                q = q
                    .bind(id)
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
                    .bind(now);
            }
            let stored: std::collections::HashSet<String> =
                q.fetch_all(&mut *self.tx).await?.into_iter().collect();
            for (i, _) in chunk.iter().enumerate() {
                written[base + i] = stored.contains(&rows[base + i].0);
            }
        }
        let added: Vec<&NewLedgerEntry> = entries
            .iter()
            .zip(&written)
            .filter(|(_, w)| **w)
            .map(|(e, _)| e)
            .collect();
        self.add_to_points(&added, tz).await?;
        self.add_to_pairs(&added).await?;
        Ok(written)
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
