//! Per-community data keys, wrapped by the master key.

use std::sync::Arc;

use crate::CommunityId;
use std::time::Duration;

use classcred_crypto::{DataKey, MasterKey};
use sqlx::Row;

use crate::{Result, Store, StoreError, Tx};

impl Tx<'_> {
    /// Take the keyring row: rotation, data-key creation and server registration serialise
    /// on it (PostgreSQL row lock; on SQLite the transaction already holds the write lock).
    pub(crate) async fn lock_keyring(&mut self) -> Result<()> {
        sqlx::query("UPDATE keyring SET rotations = rotations WHERE id = 1")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Fail unless every live data key is wrapped by this store's master key. Run inside the
    /// transaction, after [`Tx::lock_keyring`], by anything that creates data keys: a process
    /// still running with the old key after a rotation must not wrap a new key with it.
    pub(crate) async fn require_current_master_key(&mut self) -> Result<()> {
        let configured = self.store.inner.master.id();
        let other: Option<(String, String)> = sqlx::query_as(
            "SELECT community_id, master_key_id FROM community_key \
             WHERE wrapped_key IS NOT NULL AND master_key_id <> $1 ORDER BY community_id LIMIT 1",
        )
        .bind(&configured)
        .fetch_optional(&mut *self.tx)
        .await?;
        match other {
            None => Ok(()),
            Some((community_id, stored)) => Err(StoreError::WrongMasterKey {
                community_id,
                stored,
                configured,
            }),
        }
    }

    /// Create and store the wrapped data key of a new community.
    pub(crate) async fn create_data_key(&mut self, community_id: &CommunityId) -> Result<()> {
        self.lock_keyring().await?;
        self.require_current_master_key().await?;
        let master = &self.store.inner.master;
        let wrapped = master.wrap(&DataKey::generate(), community_id.as_str());
        let now = self.now_ms();
        sqlx::query(
            "INSERT INTO community_key (community_id, master_key_id, wrapped_key, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(community_id)
        .bind(master.id())
        .bind(wrapped)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The community's data key, unwrapped. `Erased` once the key was destroyed.
    pub async fn data_key(&mut self, community_id: &CommunityId) -> Result<Arc<DataKey>> {
        if let Some(k) = self.deks.get(community_id.as_str()) {
            return Ok(k.clone());
        }
        let k = Arc::new(self.load_data_key(community_id).await?);
        self.deks.insert(community_id.to_string(), k.clone());
        Ok(k)
    }

    async fn load_data_key(&mut self, community_id: &CommunityId) -> Result<DataKey> {
        let row = sqlx::query(
            "SELECT master_key_id, wrapped_key FROM community_key WHERE community_id = $1",
        )
        .bind(community_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "community key",
            id: community_id.to_string(),
        })?;
        let wrapped: Option<Vec<u8>> = row.try_get("wrapped_key")?;
        let Some(wrapped) = wrapped else {
            return Err(StoreError::Erased {
                community_id: community_id.to_string(),
            });
        };
        let stored: String = row.try_get("master_key_id")?;
        let master = &self.store.inner.master;
        if stored != master.id() {
            return Err(StoreError::WrongMasterKey {
                community_id: community_id.to_string(),
                stored,
                configured: master.id(),
            });
        }
        master
            .unwrap(&wrapped, community_id.as_str())
            .map_err(|source| StoreError::Crypto {
                table: "community_key",
                column: "wrapped_key",
                row_id: community_id.to_string(),
                source,
            })
    }

    /// Crypto-shred a community: destroy its data key so that every personal field sealed with
    /// it — in this database and in every backup — can no longer be read.
    pub async fn destroy_data_key(&mut self, community_id: &CommunityId) -> Result<()> {
        self.deks.remove(community_id.as_str());
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE community_key SET wrapped_key = NULL, destroyed_at = $2 \
             WHERE community_id = $1",
        )
        .bind(community_id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "community key",
                id: community_id.to_string(),
            });
        }
        Ok(())
    }
}

/// What [`Store::rotate_master_key`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    pub rewrapped: usize,
    pub destroyed_skipped: usize,
    pub old_master_key_id: String,
    pub new_master_key_id: String,
}

impl Store {
    /// Re-wrap every community data key under `new` in one transaction. Rows holding personal
    /// data are untouched: only the wrapped keys change. The audit chain is re-linked under the
    /// new key and the rotation recorded in it (`master_key.rotate`, with the old and new
    /// heads). After this, the store must be reopened with the new key.
    ///
    /// Refused with [`StoreError::ServersRunning`] while any `serve` process holds a live
    /// [`ServerLease`]: a server still running with the old key would otherwise wrap the data
    /// key of a community created afterwards with a key that is about to be replaced.
    pub async fn rotate_master_key(&self, new: &MasterKey) -> Result<RotationReport> {
        let old = &self.inner.master;
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE keyring SET rotations = rotations + 1 WHERE id = 1")
            .execute(&mut *tx.tx)
            .await?;
        let now = self.now_ms();
        let live: Vec<String> =
            sqlx::query_scalar("SELECT id FROM server_lease WHERE expires_at > $1 ORDER BY id")
                .bind(now)
                .fetch_all(&mut *tx.tx)
                .await?;
        if !live.is_empty() {
            return Err(StoreError::ServersRunning { count: live.len() });
        }
        tx.require_current_master_key().await?;
        let rows = sqlx::query(
            "SELECT community_id, master_key_id, wrapped_key FROM community_key ORDER BY community_id",
        )
        .fetch_all(&mut *tx.tx)
        .await?;
        let mut report = RotationReport {
            rewrapped: 0,
            destroyed_skipped: 0,
            old_master_key_id: old.id(),
            new_master_key_id: new.id(),
        };
        for row in rows {
            let community_id: CommunityId = row.try_get("community_id")?;
            let wrapped: Option<Vec<u8>> = row.try_get("wrapped_key")?;
            let rewrapped = match wrapped {
                None => {
                    report.destroyed_skipped += 1;
                    None
                }
                Some(_) => {
                    let dek = tx.data_key(&community_id).await?;
                    report.rewrapped += 1;
                    Some(new.wrap(&dek, community_id.as_str()))
                }
            };
            sqlx::query(
                "UPDATE community_key SET master_key_id = $2, wrapped_key = $3, rotated_at = $4 \
                 WHERE community_id = $1",
            )
            .bind(&community_id)
            .bind(new.id())
            .bind(rewrapped)
            .bind(now)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.rekey_audit_chain(old, new).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Ids of the master keys that wrap the live (not destroyed) data keys; normally one.
    pub async fn stored_master_key_ids(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT master_key_id FROM community_key WHERE wrapped_key IS NOT NULL ORDER BY 1",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(Into::into))
            .collect()
    }

    /// The start-up check: every live data key must be wrapped by the configured master key.
    /// A database with no data keys passes. [`StoreError::MixedMasterKeys`] names a database
    /// where a rotation raced a running server (some keys under the old master key).
    pub async fn check_master_key(&self) -> Result<()> {
        let ids = self.stored_master_key_ids().await?;
        let configured = self.master_key_id();
        match ids.as_slice() {
            [] => Ok(()),
            [one] if *one == configured => Ok(()),
            [one] => Err(StoreError::WrongMasterKey {
                community_id: "(all communities)".into(),
                stored: one.clone(),
                configured,
            }),
            many => Err(StoreError::MixedMasterKeys {
                stored: many.to_vec(),
                configured,
            }),
        }
    }

    /// Announce a running server: a lease row that [`Store::rotate_master_key`] refuses to
    /// rotate under, refreshed in the background until the handle is released or dropped.
    /// Call it before [`Store::check_master_key`] at start, so a rotation either finished
    /// before (and the check fails) or waits for the lease to end.
    pub async fn register_server(&self, ttl: Duration) -> Result<ServerLease> {
        let id = crate::new_id();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1000);
        let mut tx = self.begin().await?;
        tx.lock_keyring().await?;
        let now = self.now_ms();
        sqlx::query("DELETE FROM server_lease WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query(
            "INSERT INTO server_lease (id, master_key_id, started_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(self.master_key_id())
        .bind(now)
        .bind(now.saturating_add(ttl_ms))
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        let store = self.clone();
        let lease_id = id.clone();
        let refresh = tokio::spawn(async move {
            let every = Duration::from_millis(u64::try_from(ttl_ms / 3).unwrap_or(1000).max(100));
            loop {
                tokio::time::sleep(every).await;
                let expires = store.now_ms().saturating_add(ttl_ms);
                let done = sqlx::query("UPDATE server_lease SET expires_at = $2 WHERE id = $1")
                    .bind(&lease_id)
                    .bind(expires)
                    .execute(store.pool())
                    .await;
                if let Err(e) = done {
                    tracing::warn!(lease_id = %lease_id, error = %e, "server lease not refreshed");
                }
            }
        });
        Ok(ServerLease {
            store: self.clone(),
            id,
            refresh,
        })
    }

    /// Leases of running servers (live ones only).
    pub async fn live_server_leases(&self) -> Result<usize> {
        let n: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM server_lease WHERE expires_at > $1",
        )
        .bind(self.now_ms())
        .fetch_one(self.pool())
        .await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

/// A running server's lease (see [`Store::register_server`]). Release it on clean shutdown;
/// dropping it stops the refresh, and the lease then runs out by itself.
#[derive(Debug)]
pub struct ServerLease {
    store: Store,
    id: String,
    refresh: tokio::task::JoinHandle<()>,
}

impl ServerLease {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Stop refreshing and delete the lease.
    pub async fn release(self) -> Result<()> {
        self.refresh.abort();
        sqlx::query("DELETE FROM server_lease WHERE id = $1")
            .bind(&self.id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }
}

impl Drop for ServerLease {
    fn drop(&mut self) {
        self.refresh.abort();
    }
}

/// Which key seals a personal column: the community's data key, or the data key of the member
/// named by another column of the same row (the member the value is about or was written by).
/// Generic readers (the export) and erasure use this one mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedBy {
    Community,
    /// The member whose row id is in this column of the same row.
    Member { owner_column: &'static str },
}

/// The key that seals `table.column`, or `None` when the column is not sealed.
pub fn sealed_by(table: &str, column: &str) -> Option<SealedBy> {
    use crate::registry::{Class, Protection, TABLES};
    let col = TABLES
        .iter()
        .find(|t| t.name == table)?
        .columns
        .iter()
        .find(|c| c.name == column)?;
    match col.class {
        Class::Personal(p) if p.protection == Protection::Encrypted => {}
        _ => return None,
    }
    Some(match (table, column) {
        ("member", _) => SealedBy::Member { owner_column: "id" },
        ("message", "text_enc") => SealedBy::Member {
            owner_column: "author_member_id",
        },
        ("ledger_entry", "note_enc") => SealedBy::Member {
            owner_column: "member_id",
        },
        ("privacy_request", "details_enc" | "decision_note_enc") => SealedBy::Member {
            owner_column: "member_id",
        },
        _ => SealedBy::Community,
    })
}

impl Tx<'_> {
    /// Open one sealed value found by a generic reader (the export). `owner` is the member row
    /// id named by the column [`sealed_by`] gives (`None` for community-sealed columns).
    /// `Ok(None)` when the key that sealed it was destroyed (an erased member or community).
    pub async fn open_sealed(
        &mut self,
        community_id: &CommunityId,
        table: &str,
        column: &str,
        row_id: &str,
        owner: Option<&str>,
        sealed: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        // Until per-member keys exist every value is sealed with the community key.
        let _ = owner;
        let dek = match self.data_key(community_id).await {
            Ok(k) => k,
            Err(StoreError::Erased { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let at = classcred_crypto::FieldRef {
            community_id: community_id.as_str(),
            table,
            column,
            row_id,
        };
        dek.open(at, sealed)
            .map(Some)
            .map_err(|source| {
                let (table, column) = static_names(table, column);
                StoreError::Crypto {
                    table,
                    column,
                    row_id: row_id.to_string(),
                    source,
                }
            })
    }
}

/// The registry's own `'static` names of a column (for error values).
fn static_names(table: &str, column: &str) -> (&'static str, &'static str) {
    crate::registry::TABLES
        .iter()
        .find(|t| t.name == table)
        .and_then(|t| {
            t.columns
                .iter()
                .find(|c| c.name == column)
                .map(|c| (t.name, c.name))
        })
        .unwrap_or(("unknown table", "unknown column"))
}
