//! The class store's tables: `store_item` (an Instructor's item definitions, the engine's
//! JSON record plus the columns queries need) and `store_purchase` (students' purchases).
//!
//! Both are written only from an engine outcome, in the processing transaction. The oversell
//! guard is in SQL too: `store_item.sold` counts pending and approved purchases and a CHECK
//! keeps it at or below `stock`, so even two writers that both believed a unit was left can
//! never both take it (the second update fails and its transaction rolls back). A purchase's
//! reason (why it was refused or rejected) is sealed with the buyer's member key, so erasing
//! the member shreds it; the rest of the row stays, like the ledger entries it explains.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{open_opt, seal_opt, CommunityTx, MemberRowId, Result, StoreError};

/// One item row: the engine's JSON definition and the units sold (pending + approved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreItemRow {
    pub item_id: String,
    pub number: i64,
    /// The engine's `StoreItem` as JSON.
    pub record: String,
    pub sold: i64,
}

/// One purchase row (`reason` opened; `None` when there is none or the buyer was erased).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurchaseRow {
    pub purchase_id: String,
    pub member_id: MemberRowId,
    pub item_id: String,
    pub price_milli: i64,
    /// `pending`, `approved`, `rejected`, `cancelled` or `refused`.
    pub status: String,
    pub reason: Option<String>,
    pub decided_by: Option<MemberRowId>,
    pub requested_at: i64,
    pub decided_at: Option<i64>,
}

/// Which purchases to list.
#[derive(Debug, Clone, Default)]
pub struct PurchaseFilter<'a> {
    /// Only these statuses (empty: all).
    pub statuses: &'a [&'a str],
    /// Only this member's.
    pub member: Option<&'a MemberRowId>,
    /// Oldest first (the approval queue) instead of newest first.
    pub oldest_first: bool,
    /// At most this many.
    pub limit: i64,
}

fn counts(status: &str) -> bool {
    matches!(status, "pending" | "approved")
}

const PURCHASE_COLUMNS: &str = "id, member_id, store_item_id, price_milli, status, reason_enc, \
     decided_by, requested_at, decided_at";

impl CommunityTx<'_, '_> {
    /// An item's JSON definition.
    pub async fn store_item_record(&mut self, item_id: &str) -> Result<Option<String>> {
        let community_id = &self.community_id.clone();
        Ok(
            sqlx::query_scalar("SELECT record FROM store_item WHERE community_id = $1 AND id = $2")
                .bind(community_id)
                .bind(item_id)
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }

    /// Units of an item pending or approved.
    pub async fn store_item_sold(&mut self, item_id: &str) -> Result<i64> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT CAST(sold AS BIGINT) FROM store_item WHERE community_id = $1 AND id = $2",
        )
        .bind(community_id)
        .bind(item_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .unwrap_or(0))
    }

    /// Every item of the community, by number.
    pub async fn store_items(&mut self) -> Result<Vec<StoreItemRow>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT id, CAST(number AS BIGINT) AS number, record, CAST(sold AS BIGINT) AS sold \
             FROM store_item WHERE community_id = $1 ORDER BY number",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoreItemRow {
                    item_id: r.try_get("id")?,
                    number: r.try_get("number")?,
                    record: r.try_get("record")?,
                    sold: r.try_get("sold")?,
                })
            })
            .collect()
    }

    /// The number the next new item gets (one more than the highest so far).
    pub async fn next_store_item_number(&mut self) -> Result<i64> {
        let community_id = &self.community_id.clone();
        let n: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(number), 0) AS BIGINT) FROM store_item WHERE community_id = $1",
        )
        .bind(community_id)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(n + 1)
    }

    /// Insert or replace an item's definition (from an engine outcome). An id that belongs to
    /// another community is refused.
    pub async fn upsert_store_item(
        &mut self,
        item_id: &str,
        number: i64,
        record: &str,
        stock: Option<i64>,
    ) -> Result<()> {
        let community_id = &self.community_id.clone();
        let now = self.now_ms();
        let done = sqlx::query(
            "INSERT INTO store_item (id, community_id, number, record, stock, sold, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6) ON CONFLICT (id) DO UPDATE SET \
             number = excluded.number, record = excluded.record, stock = excluded.stock, \
             updated_at = excluded.updated_at WHERE store_item.community_id = excluded.community_id",
        )
        .bind(item_id)
        .bind(community_id)
        .bind(number)
        .bind(record)
        .bind(stock)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound {
                what: "store item",
                id: item_id.to_string(),
            });
        }
        Ok(())
    }

    /// A member's purchases of an item that are pending or approved.
    pub async fn member_item_count(&mut self, member: &MemberRowId, item_id: &str) -> Result<i64> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM store_purchase WHERE community_id = $1 \
             AND member_id = $2 AND store_item_id = $3 AND status IN ('pending', 'approved')",
        )
        .bind(community_id)
        .bind(member)
        .bind(item_id)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn purchase_from_row(&mut self, r: &AnyRow) -> Result<PurchaseRow> {
        let community_id = &self.community_id.clone();
        let id: String = r.try_get("id")?;
        let member_id: MemberRowId = r.try_get("member_id")?;
        let sealed = r.try_get::<Option<Vec<u8>>, _>("reason_enc")?.is_some();
        let reason = if sealed {
            match self.member_key(community_id, member_id.as_str()).await? {
                Some(k) => open_opt(&k, r, community_id, "store_purchase", "reason_enc", &id)?,
                None => None,
            }
        } else {
            None
        };
        Ok(PurchaseRow {
            purchase_id: id,
            member_id,
            item_id: r.try_get("store_item_id")?,
            price_milli: r.try_get("price_milli")?,
            status: r.try_get("status")?,
            reason,
            decided_by: r.try_get("decided_by")?,
            requested_at: r.try_get("requested_at")?,
            decided_at: r.try_get("decided_at")?,
        })
    }

    /// One purchase.
    pub async fn purchase(&mut self, purchase_id: &str) -> Result<Option<PurchaseRow>> {
        let community_id = &self.community_id.clone();
        let row = sqlx::query(&format!(
            "SELECT {PURCHASE_COLUMNS} FROM store_purchase WHERE community_id = $1 AND id = $2"
        ))
        .bind(community_id)
        .bind(purchase_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        match row {
            Some(r) => Ok(Some(self.purchase_from_row(&r).await?)),
            None => Ok(None),
        }
    }

    /// Purchases by filter.
    pub async fn purchases(&mut self, filter: &PurchaseFilter<'_>) -> Result<Vec<PurchaseRow>> {
        let community_id = &self.community_id.clone();
        let mut sql =
            format!("SELECT {PURCHASE_COLUMNS} FROM store_purchase WHERE community_id = $1");
        let mut n = 1;
        if filter.member.is_some() {
            n += 1;
            sql.push_str(&format!(" AND member_id = ${n}"));
        }
        if !filter.statuses.is_empty() {
            let list: Vec<String> = filter
                .statuses
                .iter()
                .map(|_| {
                    n += 1;
                    format!("${n}")
                })
                .collect();
            sql.push_str(&format!(" AND status IN ({})", list.join(", ")));
        }
        sql.push_str(if filter.oldest_first {
            " ORDER BY requested_at, id"
        } else {
            " ORDER BY requested_at DESC, id DESC"
        });
        sql.push_str(&format!(" LIMIT {}", filter.limit.clamp(0, 10_000_000)));
        let mut q = sqlx::query(&sql).bind(community_id);
        if let Some(m) = filter.member {
            q = q.bind(m);
        }
        for s in filter.statuses {
            q = q.bind(*s);
        }
        let rows = q.fetch_all(&mut *self.tx).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.purchase_from_row(r).await?);
        }
        Ok(out)
    }

    /// Insert or update a purchase (from an engine outcome) and keep the item's `sold` count
    /// in step: +1 when it starts counting (pending/approved), −1 when it stops. The CHECK on
    /// `store_item` refuses an oversell.
    pub async fn save_purchase(&mut self, p: &PurchaseRow) -> Result<()> {
        let community_id = &self.community_id.clone();
        let before: Option<String> = sqlx::query_scalar(
            "SELECT status FROM store_purchase WHERE community_id = $1 AND id = $2",
        )
        .bind(community_id)
        .bind(&p.purchase_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let reason = match p.reason.as_deref() {
            Some(r) => self
                .member_key_for_write(community_id, p.member_id.as_str())
                .await?
                .and_then(|k| {
                    seal_opt(
                        &k,
                        community_id,
                        "store_purchase",
                        "reason_enc",
                        &p.purchase_id,
                        Some(r),
                    )
                }),
            None => None,
        };
        let now = self.now_ms();
        let done = sqlx::query(
            "INSERT INTO store_purchase (id, community_id, member_id, store_item_id, price_milli, \
             status, reason_enc, decided_by, requested_at, decided_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) ON CONFLICT (id) DO UPDATE SET \
             status = excluded.status, reason_enc = excluded.reason_enc, \
             decided_by = excluded.decided_by, decided_at = excluded.decided_at, \
             updated_at = excluded.updated_at WHERE store_purchase.community_id = excluded.community_id",
        )
        .bind(&p.purchase_id)
        .bind(community_id)
        .bind(&p.member_id)
        .bind(&p.item_id)
        .bind(p.price_milli)
        .bind(&p.status)
        .bind(reason)
        .bind(&p.decided_by)
        .bind(p.requested_at)
        .bind(p.decided_at)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound {
                what: "store purchase",
                id: p.purchase_id.clone(),
            });
        }
        let delta = i64::from(counts(&p.status)) - i64::from(before.as_deref().is_some_and(counts));
        if delta != 0 {
            sqlx::query(
                "UPDATE store_item SET sold = sold + $1 WHERE community_id = $2 AND id = $3",
            )
            .bind(delta)
            .bind(community_id)
            .bind(&p.item_id)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Admins and Instructors (people) of the community: who hears about pending purchases.
    pub async fn staff_member_ids(&mut self) -> Result<Vec<MemberRowId>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT id FROM member WHERE community_id = $1 AND role IN ('admin', 'instructor') \
             AND kind = 'human' AND erased_at IS NULL ORDER BY id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }
}
