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
            "SELECT owner_id, master_key_id FROM classcred_keys.data_key \
             WHERE kind = 'community' AND wrapped IS NOT NULL AND master_key_id <> $1 \
             ORDER BY owner_id LIMIT 1",
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

    /// Create and store the wrapped data key of a new community: the key itself in the key
    /// store, its metadata (no key material) in `community_key`.
    pub(crate) async fn create_data_key(&mut self, community_id: &CommunityId) -> Result<()> {
        self.lock_keyring().await?;
        self.require_current_master_key().await?;
        let master = &self.store.inner.master;
        let wrapped = master.wrap(&DataKey::generate(), community_id.as_str());
        let now = self.now_ms();
        sqlx::query(
            "INSERT INTO community_key (community_id, master_key_id, wrapped_key, created_at) \
             VALUES ($1, $2, NULL, $3)",
        )
        .bind(community_id)
        .bind(master.id())
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "INSERT INTO classcred_keys.data_key \
             (owner_id, kind, community_id, master_key_id, wrapped, created_at) \
             VALUES ($1, 'community', $1, $2, $3, $4)",
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
            "SELECT master_key_id, wrapped FROM classcred_keys.data_key \
             WHERE owner_id = $1 AND kind = 'community'",
        )
        .bind(community_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "community key",
            id: community_id.to_string(),
        })?;
        let wrapped: Option<Vec<u8>> = row.try_get("wrapped")?;
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

    /// A member's data key, unwrapped; `Ok(None)` when it was destroyed (an erased member) or
    /// never existed. `Erased` when the community's key was destroyed.
    pub async fn member_key(
        &mut self,
        community_id: &CommunityId,
        member_id: &str,
    ) -> Result<Option<Arc<DataKey>>> {
        self.member_key_inner(community_id, member_id, false).await
    }

    /// A member's data key, created (wrapped by the community key) when the member has none
    /// yet; `Ok(None)` when it was destroyed.
    pub(crate) async fn member_key_for_write(
        &mut self,
        community_id: &CommunityId,
        member_id: &str,
    ) -> Result<Option<Arc<DataKey>>> {
        self.member_key_inner(community_id, member_id, true).await
    }

    async fn member_key_inner(
        &mut self,
        community_id: &CommunityId,
        member_id: &str,
        create: bool,
    ) -> Result<Option<Arc<DataKey>>> {
        // The community key first: an erased community reads as `Erased`, whatever the member.
        let dek = self.data_key(community_id).await?;
        if let Some(k) = self.member_keys.get(member_id) {
            if k.is_some() || !create {
                return Ok(k.clone());
            }
        }
        let row: Option<(Option<Vec<u8>>,)> = sqlx::query_as(
            "SELECT wrapped FROM classcred_keys.data_key \
             WHERE owner_id = $1 AND kind = 'member' AND community_id = $2",
        )
        .bind(member_id)
        .bind(community_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let key = match row {
            Some((Some(wrapped),)) => Some(Arc::new(
                dek.unwrap_member_key(&wrapped, community_id.as_str(), member_id)
                    .map_err(|source| StoreError::Crypto {
                        table: "member",
                        column: "id",
                        row_id: member_id.to_string(),
                        source,
                    })?,
            )),
            Some((None,)) => None,
            None if create => {
                let key = DataKey::generate();
                let wrapped = dek.wrap_member_key(&key, community_id.as_str(), member_id);
                sqlx::query(
                    "INSERT INTO classcred_keys.data_key \
                     (owner_id, kind, community_id, master_key_id, wrapped, created_at) \
                     VALUES ($1, 'member', $2, NULL, $3, $4)",
                )
                .bind(member_id)
                .bind(community_id)
                .bind(wrapped)
                .bind(self.now_ms())
                .execute(&mut *self.tx)
                .await?;
                Some(Arc::new(key))
            }
            None => None,
        };
        self.member_keys.insert(member_id.to_string(), key.clone());
        Ok(key)
    }

    /// Destroy one member's data key, leaving a tombstone row (no key material) in the key
    /// store; a member that never had a key gets a tombstone too. Idempotent.
    pub async fn destroy_member_key(
        &mut self,
        community_id: &CommunityId,
        member_id: &str,
    ) -> Result<()> {
        self.member_keys.insert(member_id.to_string(), None);
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE classcred_keys.data_key SET wrapped = NULL, \
             destroyed_at = COALESCE(destroyed_at, $3) \
             WHERE owner_id = $1 AND kind = 'member' AND community_id = $2",
        )
        .bind(member_id)
        .bind(community_id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO classcred_keys.data_key \
                 (owner_id, kind, community_id, master_key_id, wrapped, created_at, destroyed_at) \
                 VALUES ($1, 'member', $2, NULL, NULL, $3, $3)",
            )
            .bind(member_id)
            .bind(community_id)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Crypto-shred a community: destroy its data key, and every member key of it, so that
    /// every personal field sealed with them — in this database and in every data backup —
    /// can no longer be read. The key store keeps tombstone rows (no key material).
    pub async fn destroy_data_key(&mut self, community_id: &CommunityId) -> Result<()> {
        self.deks.remove(community_id.as_str());
        self.member_keys.clear();
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE classcred_keys.data_key SET wrapped = NULL, \
             destroyed_at = COALESCE(destroyed_at, $2) WHERE community_id = $1",
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
        sqlx::query(
            "UPDATE community_key SET wrapped_key = NULL, \
             destroyed_at = COALESCE(destroyed_at, $2) WHERE community_id = $1",
        )
        .bind(community_id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The key that seals `table.column` of a row whose owner (per [`sealed_by`]) is `owner`:
    /// the member's key when the column is member-sealed and the row names a member, else the
    /// community key. `Ok(None)`: the member's key was destroyed.
    pub(crate) async fn sealing_key(
        &mut self,
        community_id: &CommunityId,
        owner: Option<&str>,
        for_write: bool,
    ) -> Result<Option<Arc<DataKey>>> {
        match owner {
            Some(m) if for_write => self.member_key_for_write(community_id, m).await,
            Some(m) => self.member_key(community_id, m).await,
            None => self.data_key(community_id).await.map(Some),
        }
    }
}

/// The migration that brings per-member keys (`member.erased_at`); the run that applies it
/// re-seals member-owned values, sealed with the community key until then, with member keys.
pub(crate) const MEMBER_KEYS_MIGRATION: i64 = 8;

impl Store {
    /// Create the key store's tables when missing and move data keys still stored in the data
    /// database (`community_key.wrapped_key`, before the key store existed) into it. A key
    /// already in the key store wins: a restored old data backup must not bring back a key
    /// that was destroyed since. Runs on every migrate: the data and the key store are
    /// restored independently.
    pub(crate) async fn migrate_key_store(&self) -> Result<()> {
        for statement in self.inner.backend.key_store_ddl() {
            sqlx::query(statement).execute(self.pool()).await?;
        }
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO classcred_keys.meta (id, version) VALUES (1, $1) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(crate::backend::KEY_STORE_VERSION)
        .execute(&mut *tx.tx)
        .await?;
        let version: i64 = sqlx::query_scalar(
            "SELECT CAST(version AS BIGINT) FROM classcred_keys.meta WHERE id = 1",
        )
        .fetch_one(&mut *tx.tx)
        .await?;
        if version > crate::backend::KEY_STORE_VERSION {
            return Err(StoreError::Schema(format!(
                "the key store has version {version}, newer than this binary's {}: use that version",
                crate::backend::KEY_STORE_VERSION
            )));
        }
        sqlx::query(
            "INSERT INTO classcred_keys.data_key \
             (owner_id, kind, community_id, master_key_id, wrapped, created_at, rotated_at, destroyed_at) \
             SELECT ck.community_id, 'community', ck.community_id, ck.master_key_id, ck.wrapped_key, \
             ck.created_at, ck.rotated_at, ck.destroyed_at FROM community_key ck \
             WHERE NOT EXISTS (SELECT 1 FROM classcred_keys.data_key d WHERE d.owner_id = ck.community_id)",
        )
        .execute(&mut *tx.tx)
        .await?;
        sqlx::query("UPDATE community_key SET wrapped_key = NULL WHERE wrapped_key IS NOT NULL")
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Re-seal every member-owned value (see [`sealed_by`]) sealed with the community key
    /// before per-member keys existed, with the owning member's key. Values of a member whose
    /// key is already destroyed (an erasure recorded in the key store) are removed instead.
    pub(crate) async fn reseal_with_member_keys(&self) -> Result<()> {
        let communities: Vec<CommunityId> = sqlx::query_scalar(
            "SELECT owner_id FROM classcred_keys.data_key \
             WHERE kind = 'community' AND wrapped IS NOT NULL ORDER BY owner_id",
        )
        .fetch_all(self.pool())
        .await?;
        for community_id in communities {
            let mut tx = self.begin().await?;
            let dek = tx.data_key(&community_id).await?;
            for (table, column, owner_column) in MEMBER_SEALED {
                let sql = format!(
                    "SELECT id, {owner_column} AS owner, {column} AS sealed FROM {table} \
                     WHERE community_id = $1 AND {column} IS NOT NULL AND {owner_column} IS NOT NULL"
                );
                let rows = sqlx::query(&sql)
                    .bind(&community_id)
                    .fetch_all(&mut *tx.tx)
                    .await?;
                for r in rows {
                    let id: String = r.try_get("id")?;
                    let owner: String = r.try_get("owner")?;
                    let sealed: Vec<u8> = r.try_get("sealed")?;
                    let at = classcred_crypto::FieldRef {
                        community_id: community_id.as_str(),
                        table,
                        column,
                        row_id: &id,
                    };
                    let plain = dek.open(at, &sealed).map_err(|source| StoreError::Crypto {
                        table,
                        column,
                        row_id: id.clone(),
                        source,
                    })?;
                    let resealed = tx
                        .member_key_for_write(&community_id, &owner)
                        .await?
                        .map(|k| k.seal(at, &plain));
                    let sql = format!("UPDATE {table} SET {column} = $1 WHERE id = $2");
                    sqlx::query(&sql)
                        .bind(resealed)
                        .bind(&id)
                        .execute(&mut *tx.tx)
                        .await?;
                }
            }
            tx.commit().await?;
        }
        Ok(())
    }
}

/// Every member-sealed column: (table, column, column naming the owning member).
pub(crate) const MEMBER_SEALED: [(&str, &str, &str); 7] = [
    ("member", "name_enc", "id"),
    ("member", "display_name_enc", "id"),
    ("member", "email_enc", "id"),
    ("member", "avatar_url_enc", "id"),
    ("member", "timezone_enc", "id"),
    ("message", "text_enc", "author_member_id"),
    ("ledger_entry", "note_enc", "member_id"),
];

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
            "SELECT owner_id AS community_id, master_key_id, wrapped AS wrapped_key \
             FROM classcred_keys.data_key WHERE kind = 'community' ORDER BY owner_id",
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
                "UPDATE classcred_keys.data_key SET master_key_id = $2, wrapped = $3, rotated_at = $4 \
                 WHERE owner_id = $1 AND kind = 'community'",
            )
            .bind(&community_id)
            .bind(new.id())
            .bind(rewrapped)
            .bind(now)
            .execute(&mut *tx.tx)
            .await?;
            sqlx::query(
                "UPDATE community_key SET master_key_id = $2, rotated_at = $3 WHERE community_id = $1",
            )
            .bind(&community_id)
            .bind(new.id())
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
            "SELECT DISTINCT master_key_id FROM classcred_keys.data_key \
             WHERE kind = 'community' AND wrapped IS NOT NULL ORDER BY 1",
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
    Member {
        owner_column: &'static str,
    },
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
        ("store_purchase", "reason_enc") => SealedBy::Member {
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
        let owner = match sealed_by(table, column) {
            Some(SealedBy::Member { .. }) => owner,
            _ => None,
        };
        let dek = match self.sealing_key(community_id, owner, false).await {
            Ok(Some(k)) => k,
            Ok(None) | Err(StoreError::Erased { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let at = classcred_crypto::FieldRef {
            community_id: community_id.as_str(),
            table,
            column,
            row_id,
        };
        dek.open(at, sealed).map(Some).map_err(|source| {
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
