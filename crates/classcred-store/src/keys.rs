//! Per-community data keys, wrapped by the master key.

use std::sync::Arc;

use classcred_crypto::{DataKey, MasterKey};
use sqlx::Row;

use crate::{Result, Store, StoreError, Tx};

impl Tx<'_> {
    /// Create and store the wrapped data key of a new community.
    pub(crate) async fn create_data_key(&mut self, community_id: &str) -> Result<()> {
        let master = &self.store.inner.master;
        let wrapped = master.wrap(&DataKey::generate(), community_id);
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
    pub async fn data_key(&mut self, community_id: &str) -> Result<Arc<DataKey>> {
        if let Some(k) = self.deks.get(community_id) {
            return Ok(k.clone());
        }
        let k = Arc::new(self.load_data_key(community_id).await?);
        self.deks.insert(community_id.to_string(), k.clone());
        Ok(k)
    }

    async fn load_data_key(&mut self, community_id: &str) -> Result<DataKey> {
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
            .unwrap(&wrapped, community_id)
            .map_err(|source| StoreError::Crypto {
                table: "community_key",
                column: "wrapped_key",
                row_id: community_id.to_string(),
                source,
            })
    }

    /// Crypto-shred a community: destroy its data key so that every personal field sealed with
    /// it — in this database and in every backup — can no longer be read.
    pub async fn destroy_data_key(&mut self, community_id: &str) -> Result<()> {
        self.deks.remove(community_id);
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
    /// data are untouched: only the wrapped keys change. After this, the store must be reopened
    /// with the new key.
    pub async fn rotate_master_key(&self, new: &MasterKey) -> Result<RotationReport> {
        let old = &self.inner.master;
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT community_id, master_key_id, wrapped_key FROM community_key ORDER BY community_id",
        )
        .fetch_all(&mut *tx.tx)
        .await?;
        let now = self.now_ms();
        let mut report = RotationReport {
            rewrapped: 0,
            destroyed_skipped: 0,
            old_master_key_id: old.id(),
            new_master_key_id: new.id(),
        };
        for row in rows {
            let community_id: String = row.try_get("community_id")?;
            let wrapped: Option<Vec<u8>> = row.try_get("wrapped_key")?;
            let rewrapped = match wrapped {
                None => {
                    report.destroyed_skipped += 1;
                    None
                }
                Some(_) => {
                    let dek = tx.data_key(&community_id).await?;
                    report.rewrapped += 1;
                    Some(new.wrap(&dek, &community_id))
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
        tx.commit().await?;
        Ok(report)
    }

    /// Ids of the master keys that wrap the stored data keys (normally one).
    pub async fn stored_master_key_ids(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT DISTINCT master_key_id FROM community_key ORDER BY 1")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(Into::into))
            .collect()
    }
}
