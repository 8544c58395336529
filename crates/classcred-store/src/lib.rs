//! ClassCred storage.
//!
//! One [`Store`] over SQLite (the embedded default) or PostgreSQL. Every personal field is
//! sealed with its community's data key before it reaches SQL and opened after it leaves
//! (see `classcred-crypto`); every table and column is classified in [`registry`]; admin reads
//! and key operations are written to a hash-chained [`audit`] log; background work is rows in
//! the [`jobs`] table, enqueued in the same transaction as the change it follows.
//!
//! Writes go through a [`Tx`] (one database transaction); `Tx::commit` makes them durable.

pub mod audit;
pub mod backend;
pub mod clock;
pub mod jobs;
mod keys;
pub mod model;
pub mod recognition;
pub mod registry;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::{Arc, Once};
use std::time::Duration;

use classcred_crypto::{CryptoError, DataKey, FieldRef, MasterKey};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row};

pub use backend::Backend;
pub use clock::{Clock, ManualClock, SystemClock};
pub use keys::RotationReport;
pub use model::*;

/// Errors of the store. Messages carry ids, never personal data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("the personal data of community {community_id} has been erased (its data key was destroyed)")]
    Erased { community_id: String },
    #[error("the data key of community {community_id} is wrapped by master key {stored} but the configured master key is {configured}; configure the right master key (see README: key handling)")]
    WrongMasterKey {
        community_id: String,
        stored: String,
        configured: String,
    },
    #[error("field {table}.{column} of row {row_id} could not be decrypted: {source}")]
    Crypto {
        table: &'static str,
        column: &'static str,
        row_id: String,
        source: CryptoError,
    },
    #[error("invalid value: {0}")]
    Invalid(String),
    #[error("serialisation: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

static INSTALL_DRIVERS: Once = Once::new();

struct Inner {
    pool: AnyPool,
    backend: Arc<dyn Backend>,
    master: MasterKey,
    clock: Arc<dyn Clock>,
}

/// The store: a connection pool, the backend's dialect, the master key and the clock.
/// Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend.name())
            .field("master_key_id", &self.inner.master.id())
            .finish()
    }
}

/// Options for [`Store::connect`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Most connections in the pool (PostgreSQL). SQLite always uses one writer connection so
    /// that check-and-debit sequences are serialised (see docs/ARCHITECTURE.md).
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

impl Store {
    /// Connect to `url` (`sqlite:…` or `postgres://…`). Does not migrate; call [`Store::migrate`].
    pub async fn connect(
        url: &str,
        master: MasterKey,
        clock: Arc<dyn Clock>,
        options: ConnectOptions,
    ) -> Result<Self> {
        INSTALL_DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend: Arc<dyn Backend> = backend::for_url(url)?.into();
        let url = if backend.name() == "sqlite" {
            backend::sqlite_url_with_create(url)
        } else {
            url.to_string()
        };
        backend::validate_url(&url)?;
        let max = if backend.name() == "sqlite" {
            1
        } else {
            options.max_connections.max(1)
        };
        let hook_backend = backend.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(options.acquire_timeout)
            .after_connect(move |conn, _meta| hook_backend.on_connect(conn))
            .connect(&url)
            .await?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                backend,
                master,
                clock,
            }),
        })
    }

    /// Apply this backend's embedded migrations.
    pub async fn migrate(&self) -> Result<()> {
        self.inner.backend.migrator().run(&self.inner.pool).await?;
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        self.inner.backend.name()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Milliseconds since the epoch, from the store's clock.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now().timestamp_millis()
    }

    pub fn master_key_id(&self) -> String {
        self.inner.master.id()
    }

    /// The raw pool, for tests and backend-specific maintenance.
    pub fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    /// Succeeds only when the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.inner.pool).await?;
        Ok(())
    }

    /// Start a transaction.
    pub async fn begin(&self) -> Result<Tx<'_>> {
        Ok(Tx {
            store: self,
            tx: self.inner.pool.begin().await?,
            deks: std::collections::HashMap::new(),
        })
    }

    /// `(table, column)` of every column in the live schema.
    pub async fn live_columns(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(self.inner.backend.columns_query())
            .fetch_all(&self.inner.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("table_name")?, r.try_get("column_name")?)))
            .collect()
    }

    /// Close the pool (flushes SQLite's WAL on the last connection).
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}

/// One database transaction plus the store it belongs to.
pub struct Tx<'s> {
    store: &'s Store,
    tx: sqlx::Transaction<'static, Any>,
    /// Data keys unwrapped in this transaction (one read and unwrap per community per
    /// transaction; never shared across transactions, so a destroyed key is never reused).
    deks: std::collections::HashMap<String, Arc<DataKey>>,
}

impl<'s> Tx<'s> {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }

    pub fn store(&self) -> &'s Store {
        self.store
    }

    fn now_ms(&self) -> i64 {
        self.store.now_ms()
    }

    /// Map rows of one community that hold sealed fields, unwrapping the community's data key
    /// only when there is a row to open (an empty result needs no key, even an erased one).
    pub(crate) async fn open_rows<T>(
        &mut self,
        community_id: &str,
        rows: &[AnyRow],
        f: impl Fn(&DataKey, &AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let dek = self.data_key(community_id).await?;
        rows.iter().map(|r| f(&dek, r)).collect()
    }
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Seal an optional text field for a place.
pub(crate) fn seal_opt(
    dek: &DataKey,
    community_id: &str,
    table: &'static str,
    column: &'static str,
    row_id: &str,
    value: Option<&str>,
) -> Option<Vec<u8>> {
    value.map(|v| {
        dek.seal(
            FieldRef {
                community_id,
                table,
                column,
                row_id,
            },
            v.as_bytes(),
        )
    })
}

/// Open an optional sealed text field of a row.
pub(crate) fn open_opt(
    dek: &DataKey,
    row: &AnyRow,
    community_id: &str,
    table: &'static str,
    column: &'static str,
    row_id: &str,
) -> Result<Option<String>> {
    let sealed: Option<Vec<u8>> = row.try_get(column)?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let crypto_err = |source| StoreError::Crypto {
        table,
        column,
        row_id: row_id.to_string(),
        source,
    };
    let plain = dek
        .open(
            FieldRef {
                community_id,
                table,
                column,
                row_id,
            },
            &sealed,
        )
        .map_err(crypto_err)?;
    String::from_utf8(plain)
        .map(Some)
        .map_err(|_| crypto_err(CryptoError::Malformed))
}
