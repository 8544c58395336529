//! The two storage backends. Queries are written once, with `$n` placeholders that both SQLite
//! and PostgreSQL accept, and run through sqlx's `Any` driver; what differs between the two
//! databases (migrations, connection set-up, schema introspection, row locking) lives behind the
//! [`Backend`] trait. See docs/ARCHITECTURE.md for why.

use std::str::FromStr;

use futures_like::BoxFuture;
use sqlx::migrate::Migrator;
use sqlx::AnyConnection;
use sqlx::Executor;

use crate::StoreError;

/// What distinguishes SQLite from PostgreSQL for this store.
pub trait Backend: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn name(&self) -> &'static str;
    /// The embedded migrations of this backend.
    fn migrator(&self) -> &'static Migrator;
    /// Statements run on every new connection.
    fn on_connect<'c>(&self, conn: &'c mut AnyConnection)
        -> BoxFuture<'c, Result<(), sqlx::Error>>;
    /// A query returning `(table_name, column_name)` for every column of every table.
    fn columns_query(&self) -> &'static str;
    /// Suffix for the sub-select that picks the next job: row locking where the database has it.
    fn claim_lock_clause(&self) -> &'static str;
    /// The statement that opens a transaction (`None`: the driver's plain `BEGIN`).
    fn begin_statement(&self) -> Option<&'static str>;
    /// Statements creating the key store's tables (schema `classcred_keys`) when missing.
    fn key_store_ddl(&self) -> &'static [&'static str];
}

/// Version of the key store's tables (`classcred_keys.meta.version`).
pub const KEY_STORE_VERSION: i64 = 1;

/// Embedded SQLite: one file, WAL journal, foreign keys enforced; the key store is a second
/// file ATTACHed as `classcred_keys` on every connection.
pub struct Sqlite {
    /// The key store file (`None`: no key store attached, for databases in memory).
    pub keys_path: Option<std::path::PathBuf>,
}
/// PostgreSQL (and Postgres-compatible distributed SQL).
pub struct Postgres;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn migrator(&self) -> &'static Migrator {
        &SQLITE_MIGRATOR
    }
    fn on_connect<'c>(
        &self,
        conn: &'c mut AnyConnection,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        let keys_path = self.keys_path.clone();
        Box::pin(async move {
            if let Some(path) = keys_path {
                sqlx::query("ATTACH DATABASE $1 AS classcred_keys")
                    .bind(path.to_string_lossy().into_owned())
                    .execute(&mut *conn)
                    .await?;
                conn.execute("PRAGMA classcred_keys.journal_mode = WAL")
                    .await?;
            }
            conn.execute("PRAGMA journal_mode = WAL").await?;
            conn.execute("PRAGMA foreign_keys = ON").await?;
            conn.execute("PRAGMA busy_timeout = 10000").await?;
            conn.execute("PRAGMA synchronous = NORMAL").await?;
            Ok(())
        })
    }
    fn columns_query(&self) -> &'static str {
        "SELECT m.name AS table_name, p.name AS column_name \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
         ORDER BY m.name, p.cid"
    }
    fn claim_lock_clause(&self) -> &'static str {
        // SQLite serialises writers; the single UPDATE … WHERE id = (SELECT …) is atomic.
        ""
    }
    fn begin_statement(&self) -> Option<&'static str> {
        // A DEFERRED transaction that reads and then writes must upgrade its lock, and that
        // upgrade fails at once with SQLITE_BUSY ("database is locked", the busy timeout does
        // not apply) when another process wrote in between. IMMEDIATE takes the write lock at
        // BEGIN, where the busy timeout does apply, so writers from several processes queue.
        Some("BEGIN IMMEDIATE")
    }
    fn key_store_ddl(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS classcred_keys.meta (\
                id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS classcred_keys.data_key (\
                owner_id TEXT PRIMARY KEY, kind TEXT NOT NULL, community_id TEXT NOT NULL, \
                master_key_id TEXT, wrapped BLOB, created_at INTEGER NOT NULL, \
                rotated_at INTEGER, destroyed_at INTEGER)",
            "CREATE INDEX IF NOT EXISTS classcred_keys.data_key_community \
                ON data_key (community_id, kind)",
        ]
    }
}

impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }
    fn migrator(&self) -> &'static Migrator {
        &POSTGRES_MIGRATOR
    }
    fn on_connect<'c>(
        &self,
        _conn: &'c mut AnyConnection,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async { Ok(()) })
    }
    fn columns_query(&self) -> &'static str {
        "SELECT CAST(table_name AS TEXT) AS table_name, CAST(column_name AS TEXT) AS column_name \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         ORDER BY table_name, ordinal_position"
    }
    fn claim_lock_clause(&self) -> &'static str {
        "FOR UPDATE SKIP LOCKED"
    }
    fn begin_statement(&self) -> Option<&'static str> {
        None
    }
    fn key_store_ddl(&self) -> &'static [&'static str] {
        &[
            "CREATE SCHEMA IF NOT EXISTS classcred_keys",
            "CREATE TABLE IF NOT EXISTS classcred_keys.meta (\
                id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS classcred_keys.data_key (\
                owner_id TEXT PRIMARY KEY, kind TEXT NOT NULL, community_id TEXT NOT NULL, \
                master_key_id TEXT, wrapped BYTEA, created_at BIGINT NOT NULL, \
                rotated_at BIGINT, destroyed_at BIGINT)",
            "CREATE INDEX IF NOT EXISTS data_key_community \
                ON classcred_keys.data_key (community_id, kind)",
        ]
    }
}

/// Pick the backend from a database URL.
pub fn for_url(url: &str) -> Result<Box<dyn Backend>, StoreError> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Box::new(Sqlite { keys_path: None })),
        "postgres" | "postgresql" => Ok(Box::new(Postgres)),
        _ => Err(StoreError::Config(format!(
            "database_url must start with sqlite: or postgres:, got scheme {scheme:?}"
        ))),
    }
}

/// Connection options for SQLite from a URL, creating the file when it does not exist.
pub(crate) fn sqlite_url_with_create(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Refuse a SQLite database file that does not exist, with what to do.
pub(crate) fn require_sqlite_file(url: &str) -> Result<(), StoreError> {
    use sqlx::sqlite::SqliteConnectOptions;
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("database_url is not a valid URL: {e}")))?;
    let path = options.get_filename();
    if url.contains(":memory:") || url.contains("mode=memory") || path.exists() {
        return Ok(());
    }
    Err(StoreError::Config(format!(
        "there is no database at {}: check database_url, or create one with `classcred migrate` (or `classcred demo`)",
        path.display()
    )))
}

/// The SQLite database file a URL names (`None` for a database in memory).
pub(crate) fn sqlite_path(url: &str) -> Result<Option<std::path::PathBuf>, StoreError> {
    use sqlx::sqlite::SqliteConnectOptions;
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(None);
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("database_url is not a valid URL: {e}")))?;
    let path = options.get_filename();
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return Ok(None);
    }
    Ok(Some(path.to_path_buf()))
}

/// The default key store beside a data file: `…/classcred.db` → `…/classcred-keys.db`.
pub fn default_key_store_path(data: &std::path::Path) -> std::path::PathBuf {
    let stem = data
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "classcred".into());
    let name = match data.extension() {
        Some(ext) => format!("{stem}-keys.{}", ext.to_string_lossy()),
        None => format!("{stem}-keys"),
    };
    data.with_file_name(name)
}

/// Create a file readable by its owner only (0600) when it does not exist yet.
pub(crate) fn create_private_file(path: &std::path::Path, what: &str) -> Result<(), StoreError> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    match open.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            warn_if_shared(path);
            Ok(())
        }
        Err(e) => Err(StoreError::Config(format!(
            "cannot create the {what} {}: {e}",
            path.display()
        ))),
    }
}

/// Create the SQLite database file readable by its owner only (0600) when it does not exist
/// yet. SQLite creates the `-wal` and `-shm` files with the database file's permissions, so
/// they are private too.
/// The file of a `sqlite:` URL (`None` for PostgreSQL, in-memory databases or a bad URL).
pub fn sqlite_file_path(url: &str) -> Option<std::path::PathBuf> {
    use sqlx::sqlite::SqliteConnectOptions;
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    (!path.as_os_str().is_empty()).then(|| path.to_path_buf())
}

pub(crate) fn create_sqlite_file_private(url: &str) -> Result<(), StoreError> {
    use sqlx::sqlite::SqliteConnectOptions;
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("database_url is not a valid URL: {e}")))?;
    let path = options.get_filename();
    let name = path.as_os_str();
    if name.is_empty()
        || name == ":memory:"
        || url.contains(":memory:")
        || url.contains("mode=memory")
    {
        return Ok(());
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    match open.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            warn_if_shared(path);
            Ok(())
        }
        Err(e) => Err(StoreError::Config(format!(
            "cannot create the SQLite database {}: {e}",
            path.display()
        ))),
    }
}

/// An existing database file that others can read (created by an older version, 0644) is
/// still opened, with a warning saying how to fix it.
fn warn_if_shared(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = %format!("{mode:o}"),
                    "the SQLite database is readable by users other than its owner; run chmod 600 on it and its -wal and -shm files"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Check that a URL parses as what its scheme says, so that errors name the setting.
pub(crate) fn validate_url(url: &str) -> Result<(), StoreError> {
    sqlx::any::AnyConnectOptions::from_str(url)
        .map(|_| ())
        .map_err(|e| StoreError::Config(format!("database_url is not a valid URL: {e}")))
}

/// A tiny stand-in for `futures::future::BoxFuture`, to avoid a dependency for one alias.
pub(crate) mod futures_like {
    pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
}
