//! ClassCred storage.
//!
//! One [`Store`] over SQLite (the embedded default) or PostgreSQL. Every personal field is
//! sealed with its community's data key before it reaches SQL and opened after it leaves
//! (see `classcred-crypto`); every table and column is classified in [`registry`]; admin reads
//! and key operations are written to a hash-chained [`audit`] log; background work is rows in
//! the [`jobs`] table, enqueued in the same transaction as the change it follows.
//!
//! Writes go through a [`Tx`] (one database transaction); `Tx::commit` makes them durable.
//! Everything about one community's data goes through a [`CommunityTx`]
//! (`tx.for_community(&id)`), which scopes every query to that community; ids are the
//! [`CommunityId`] and [`MemberRowId`] newtypes, parsed wherever they enter from outside.

pub mod audit;
pub mod backend;
pub mod class_store;
pub mod clock;
pub mod device;
pub mod erasure;
pub mod export;
pub mod governance;
pub mod jobs;
mod keys;
pub mod model;
pub mod polls;
pub mod recognition;
pub mod registry;
pub mod research;
pub mod retention;
pub mod reward_rules;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::{Arc, Once};
use std::time::Duration;

use classcred_crypto::{CryptoError, DataKey, FieldRef, MasterKey};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row};

pub use backend::Backend;
pub use clock::{Clock, ManualClock, SystemClock};
pub use device::{SignInRecord, UsageCount, DEVICE_DATA_MAX_AGE_MS};
pub use erasure::ErasureCounts;
pub use keys::{sealed_by, RotationReport, SealedBy, ServerLease};
pub use model::*;
pub use retention::{RetentionValues, StoredRetentionPolicy, TextColumn, TextCounts, TEXT_COLUMNS};

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
    #[error("the live data keys are wrapped by several master keys ({}) and the configured one is {configured}: a key rotation ran while a server with the old key was creating a community. Restore the database from before the rotation, or re-wrap the stragglers with the old key (see README: key handling)", stored.join(", "))]
    MixedMasterKeys {
        stored: Vec<String>,
        configured: String,
    },
    #[error("{count} `classcred serve` process(es) are running (live server leases): stop every server before rotating the master key, then start them with the new key")]
    ServersRunning { count: usize },
    #[error("field {table}.{column} of row {row_id} could not be decrypted: {source}")]
    Crypto {
        table: &'static str,
        column: &'static str,
        row_id: String,
        source: CryptoError,
    },
    #[error("schema: {0}")]
    Schema(String),
    #[error("invalid value: {0}")]
    Invalid(String),
    #[error("serialisation: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not supported: {0}")]
    Unsupported(String),
}

/// The database's schema relative to this binary (see [`Store::schema_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// No migration ever ran (a new, empty database).
    Fresh,
    /// Exactly this binary's migrations.
    Current,
    /// Migrations this binary has that the database does not.
    Pending { pending: Vec<i64> },
    /// Migrations applied by a newer binary.
    Newer { unknown: Vec<i64> },
    /// A migration that failed part-way.
    Dirty { version: i64 },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

static INSTALL_DRIVERS: Once = Once::new();

/// Most read-only connections of a SQLite store (see [`Store::begin_read`]).
const READ_CONNECTIONS: u32 = 4;

struct Inner {
    pool: AnyPool,
    /// Read-only connections for lookups that must not queue for the write lock (SQLite on a
    /// file: WAL lets readers run beside the single writer). `None`: reads use `pool`
    /// (PostgreSQL, whose pool already has many connections; SQLite in memory).
    read_pool: Option<AnyPool>,
    backend: Arc<dyn Backend>,
    master: MasterKey,
    clock: Arc<dyn Clock>,
    /// When this process last refreshed the planner's statistics of the inbox
    /// ([`Store::refresh_inbox_statistics`]).
    inbox_analysed: std::sync::Mutex<Option<std::time::Instant>>,
    /// Leaderboard totals read in this process, reused while their community's points version
    /// is unchanged (see [`recognition::BoardCache`]).
    boards: recognition::BoardCache,
}

/// Least time between two refreshes of the inbox statistics by one process.
const INBOX_ANALYSE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Append `rows` parenthesised groups of `cols` numbered placeholders (`($1,$2),($3,$4)`) to
/// a multi-row `INSERT … VALUES `.
pub(crate) fn push_value_rows(sql: &mut String, rows: usize, cols: usize) {
    use std::fmt::Write as _;
    for i in 0..rows {
        sql.push_str(if i == 0 { "(" } else { ",(" });
        for c in 0..cols {
            if c > 0 {
                sql.push(',');
            }
            let _ = write!(sql, "${}", i * cols + c + 1);
        }
        sql.push(')');
    }
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
    /// Create a missing SQLite database file (mode 0600). Commands that only read or that need
    /// an existing database turn it off, so a mistyped path is an error, not a new empty file.
    pub create_sqlite_file: bool,
    /// SQLite: the key store file ATTACHed as `classcred_keys` (created 0600 when missing).
    /// `None`: beside the data file, `classcred.db` → `classcred-keys.db`. Ignored on
    /// PostgreSQL, where the key store is the schema `classcred_keys` of the same database.
    pub key_store_path: Option<std::path::PathBuf>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
            create_sqlite_file: true,
            key_store_path: None,
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
        let mut backend: Arc<dyn Backend> = backend::for_url(url)?.into();
        let url = if backend.name() == "sqlite" {
            if options.create_sqlite_file {
                backend::create_sqlite_file_private(url)?;
                backend::sqlite_url_with_create(url)
            } else {
                backend::require_sqlite_file(url)?;
                url.to_string()
            }
        } else {
            url.to_string()
        };
        backend::validate_url(&url)?;
        if backend.name() == "sqlite" {
            if let Some(data) = backend::sqlite_path(&url)? {
                let keys = options
                    .key_store_path
                    .clone()
                    .unwrap_or_else(|| backend::default_key_store_path(&data));
                backend::create_private_file(&keys, "key store")?;
                backend = Arc::new(backend::Sqlite {
                    keys_path: Some(keys),
                });
            }
        }
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
        let read_pool = if backend.name() == "sqlite" && backend::sqlite_path(&url)?.is_some() {
            let hook_backend = backend.clone();
            // Lazy: no reader connection exists until a lookup needs one (idle memory), and
            // `query_only` makes a write through a reader an error instead of a lock upgrade.
            Some(
                AnyPoolOptions::new()
                    .max_connections(READ_CONNECTIONS)
                    .min_connections(0)
                    .acquire_timeout(options.acquire_timeout)
                    .after_connect(move |conn, _meta| {
                        let backend = hook_backend.clone();
                        Box::pin(async move {
                            backend.on_connect(&mut *conn).await?;
                            sqlx::Executor::execute(&mut *conn, "PRAGMA query_only = ON").await?;
                            Ok(())
                        })
                    })
                    .connect_lazy(&url)?,
            )
        } else {
            None
        };
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                read_pool,
                backend,
                master,
                clock,
                inbox_analysed: std::sync::Mutex::new(None),
                boards: recognition::BoardCache::default(),
            }),
        })
    }

    /// Apply this backend's embedded migrations. The run that applies
    /// [`audit::KEYED_CHAIN_MIGRATION`] also keys the audit chain written before chains were
    /// keyed, and only that run: afterwards an unkeyed chain can only be a forgery (a
    /// downgraded `audit_head.chain_version` with every link recomputed the unkeyed way), and
    /// keying it would launder it (see [`audit`]).
    pub async fn migrate(&self) -> Result<()> {
        let keys_legacy_chain = match self.schema_state().await? {
            SchemaState::Pending { pending } => pending.contains(&audit::KEYED_CHAIN_MIGRATION),
            _ => false,
        };
        let reseal_for_members = match self.schema_state().await? {
            SchemaState::Pending { pending } => pending.contains(&keys::MEMBER_KEYS_MIGRATION),
            SchemaState::Fresh => false,
            _ => false,
        };
        self.inner.backend.migrator().run(&self.inner.pool).await?;
        self.migrate_key_store().await?;
        if reseal_for_members {
            self.reseal_with_member_keys().await?;
        }
        if keys_legacy_chain {
            let mut tx = self.begin().await?;
            tx.key_audit_chain().await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Apply this backend's migrations up to and including `version` only: tests build
    /// databases as older releases left them.
    #[cfg(feature = "testing")]
    pub async fn migrate_through(&self, version: i64) -> Result<()> {
        let all = self.inner.backend.migrator();
        let migrator = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(
                all.iter()
                    .filter(|m| m.version <= version)
                    .cloned()
                    .collect(),
            ),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        migrator.run(&self.inner.pool).await?;
        self.migrate_key_store().await?;
        Ok(())
    }

    /// How the database's schema compares with this binary's migrations.
    pub async fn schema_state(&self) -> Result<SchemaState> {
        let has_table = self
            .live_columns()
            .await?
            .iter()
            .any(|(t, _)| t == "_sqlx_migrations");
        if !has_table {
            return Ok(SchemaState::Fresh);
        }
        // `success` is a boolean, which the Any driver cannot decode: read it as a number.
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT version, CAST(CASE WHEN success THEN 1 ELSE 0 END AS BIGINT) \
             FROM _sqlx_migrations ORDER BY version",
        )
        .fetch_all(&self.inner.pool)
        .await?;
        if let Some((v, _)) = rows.iter().find(|(_, ok)| *ok == 0) {
            return Ok(SchemaState::Dirty { version: *v });
        }
        let known: Vec<i64> = self
            .inner
            .backend
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| m.version)
            .collect();
        let unknown: Vec<i64> = rows
            .iter()
            .map(|(v, _)| *v)
            .filter(|v| !known.contains(v))
            .collect();
        if !unknown.is_empty() {
            return Ok(SchemaState::Newer { unknown });
        }
        let pending: Vec<i64> = known
            .iter()
            .copied()
            .filter(|v| !rows.iter().any(|(a, _)| a == v))
            .collect();
        if pending.is_empty() {
            Ok(SchemaState::Current)
        } else {
            Ok(SchemaState::Pending { pending })
        }
    }

    /// For commands that must not change the schema (read-only CLI commands): succeed only
    /// when the database is exactly at this binary's schema; otherwise say what to do.
    pub async fn require_current_schema(&self) -> Result<()> {
        match self.schema_state().await? {
            SchemaState::Current => Ok(()),
            SchemaState::Fresh => Err(StoreError::Schema(
                "the database has no ClassCred schema yet: run `classcred migrate` first".into(),
            )),
            SchemaState::Pending { pending } => Err(StoreError::Schema(format!(
                "the database needs migrations {pending:?} that this command does not apply: \
                 run `classcred migrate` (with a backup) first"
            ))),
            SchemaState::Newer { unknown } => Err(StoreError::Schema(format!(
                "the database was migrated by a newer classcred (migrations {unknown:?} are \
                 unknown to this binary): use that version"
            ))),
            SchemaState::Dirty { version } => Err(StoreError::Schema(format!(
                "migration {version} failed part-way; restore the backup and run `classcred migrate` again"
            ))),
        }
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

    /// The key that signs dashboard login links, derived from this store's master key.
    pub fn login_key(&self) -> classcred_crypto::LoginKey {
        self.inner.master.login_key()
    }

    /// The key that signs full-export download links, derived from this store's master key.
    pub fn export_link_key(&self) -> classcred_crypto::LoginKey {
        self.inner.master.export_link_key()
    }

    /// The key that seals OpenID Connect attempt cookies, derived from this store's master key.
    pub fn oidc_cookie_key(&self) -> secrecy::SecretBox<[u8; 32]> {
        self.inner.master.oidc_cookie_key()
    }

    /// Seals free text that a job payload must carry (chat command arguments) so that the job
    /// table holds no personal value in clear: hex of an AEAD ciphertext under a key derived
    /// from the master key, bound to `(kind, key)` (e.g. the job kind and the platform's message
    /// id), so a sealed text cannot be moved to another job.
    pub fn seal_job_text(&self, kind: &str, key: &str, text: &str) -> String {
        let sealed = self
            .inner
            .master
            .job_key()
            .seal(job_text_ref(kind, key), text.as_bytes());
        hex::encode(sealed)
    }

    /// Opens what [`Store::seal_job_text`] sealed for the same `(kind, key)`; `None` when it
    /// was altered, moved, or sealed under another master key.
    pub fn open_job_text(&self, kind: &str, key: &str, sealed: &str) -> Option<String> {
        let bytes = hex::decode(sealed).ok()?;
        let plain = self
            .inner
            .master
            .job_key()
            .open(job_text_ref(kind, key), &bytes)
            .ok()?;
        String::from_utf8(plain).ok()
    }

    pub fn master_key_id(&self) -> String {
        self.inner.master.id()
    }

    /// The raw pool, for tests and backend-specific maintenance.
    /// Refresh PostgreSQL's statistics of the inbox when a backlog is being drained (at most
    /// once a minute per process); returns whether it ran. Without fresh statistics (a burst
    /// queued since the last analyse, or `autovacuum = off`) the planner believes almost no
    /// row is pending and picks a batch by reading and sorting *every* pending row instead of
    /// the head of `inbox_pick_order`: 84 ms per pick at 100,000 pending rows against 0.2 ms.
    /// `ANALYZE` samples the table (~150 ms at 100,000 rows). SQLite needs none: without
    /// statistics it reads the partial index in order. Never fails the caller's work: an error
    /// is returned for logging only.
    pub async fn refresh_inbox_statistics(&self) -> Result<bool> {
        if self.inner.backend.name() != "postgres" {
            return Ok(false);
        }
        {
            let mut last = self
                .inner
                .inbox_analysed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < INBOX_ANALYSE_EVERY) {
                return Ok(false);
            }
            *last = Some(std::time::Instant::now());
        }
        // The inbox, and the tables a batch's read-ahead looks up by lists of keys: without
        // statistics the planner reads a community's whole table for them.
        for table in [
            "inbox",
            "engine_message",
            "member",
            "member_badge",
            "award_pair",
            "ledger_entry",
        ] {
            sqlx::query(&format!("ANALYZE {table}"))
                .execute(&self.inner.pool)
                .await?;
        }
        Ok(true)
    }

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
        let tx = match self.inner.backend.begin_statement() {
            Some(statement) => self.inner.pool.begin_with(statement).await?,
            None => self.inner.pool.begin().await?,
        };
        Ok(Tx {
            store: self,
            tx,
            deks: std::collections::HashMap::new(),
            member_keys: std::collections::HashMap::new(),
            points_zones: std::collections::HashMap::new(),
            points_bumped: std::collections::HashSet::new(),
            heads_to_publish: Vec::new(),
        })
    }

    /// Start a read-only transaction for lookups on the request path (e.g. a Slack workspace's
    /// community): it never takes SQLite's write lock, so it neither waits for the writer nor
    /// makes writers wait. On SQLite it runs on a separate pool of `query_only` connections
    /// with a deferred `BEGIN` (a WAL snapshot of the last commit: a community disabled or
    /// erased a moment ago is seen as such); on PostgreSQL it is a `READ ONLY` transaction on
    /// the main pool. Writing through it fails.
    pub async fn begin_read(&self) -> Result<Tx<'_>> {
        let tx = match &self.inner.read_pool {
            Some(read) => read.begin().await?,
            None if self.inner.backend.name() == "postgres" => {
                self.inner
                    .pool
                    .begin_with("START TRANSACTION READ ONLY")
                    .await?
            }
            None => return self.begin().await,
        };
        Ok(Tx {
            store: self,
            tx,
            deks: std::collections::HashMap::new(),
            member_keys: std::collections::HashMap::new(),
            points_zones: std::collections::HashMap::new(),
            points_bumped: std::collections::HashSet::new(),
            heads_to_publish: Vec::new(),
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
        if let Some(read) = &self.inner.read_pool {
            read.close().await;
        }
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
    /// Member data keys unwrapped in this transaction; `None`: destroyed (an erased member).
    member_keys: std::collections::HashMap<String, Option<Arc<DataKey>>>,
    /// The points-period timezone checked in this transaction, per community (see
    /// `CommunityTx::ensure_points_zone`; forgotten when the settings are written).
    points_zones: std::collections::HashMap<String, chrono_tz::Tz>,
    /// Communities whose points version this transaction already changed.
    points_bumped: std::collections::HashSet<String>,
    /// Audit heads to publish once this transaction commits.
    heads_to_publish: Vec<(i64, String)>,
}

impl<'s> Tx<'s> {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Tx::publish_heads(self.heads_to_publish);
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
}

/// A transaction scoped to one community: every method that reads or writes one community's
/// data (members, messages, inbox, ledger, engine records and questions, reports, feed,
/// installations) lives here, without a `community_id` argument, and filters on this
/// handle's community. A caller cannot pass the wrong community to one call of a sequence,
/// nor forget it: `tx.for_community(&id)` names it once.
///
/// It borrows the [`Tx`] mutably and dereferences to it, so community-wide operations that
/// are not community data (enqueueing a job, audit, keys, the community row itself) stay
/// reachable; the transaction is committed through the [`Tx`] once the handle is dropped.
pub struct CommunityTx<'t, 's> {
    scoped: &'t mut Tx<'s>,
    community_id: CommunityId,
}

impl<'s> Tx<'s> {
    /// This transaction, scoped to one community (see [`CommunityTx`]).
    pub fn for_community(&mut self, community_id: &CommunityId) -> CommunityTx<'_, 's> {
        CommunityTx {
            scoped: self,
            community_id: community_id.clone(),
        }
    }
}

impl CommunityTx<'_, '_> {
    /// The community this handle is scoped to.
    pub fn community_id(&self) -> &CommunityId {
        &self.community_id
    }
}

impl<'s> std::ops::Deref for CommunityTx<'_, 's> {
    type Target = Tx<'s>;
    fn deref(&self) -> &Tx<'s> {
        self.scoped
    }
}

impl std::ops::DerefMut for CommunityTx<'_, '_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.scoped
    }
}

fn job_text_ref<'a>(kind: &'a str, key: &'a str) -> FieldRef<'a> {
    FieldRef {
        community_id: "",
        table: "job",
        column: kind,
        row_id: key,
    }
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Seal an optional text field for a place.
pub(crate) fn seal_opt(
    dek: &DataKey,
    community_id: &CommunityId,
    table: &'static str,
    column: &'static str,
    row_id: &str,
    value: Option<&str>,
) -> Option<Vec<u8>> {
    value.map(|v| {
        dek.seal(
            FieldRef {
                community_id: community_id.as_str(),
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
    community_id: &CommunityId,
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
                community_id: community_id.as_str(),
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
