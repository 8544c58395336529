//! Fresh databases for tests: a temporary SQLite file, and — when
//! `CLASSCRED_TEST_POSTGRES_URL` is set — a new PostgreSQL database per test, dropped afterwards.
//!
//! Without that variable the PostgreSQL variants are skipped, unless
//! `CLASSCRED_REQUIRE_POSTGRES=1` (CI sets it): then every test that wants PostgreSQL fails
//! loudly instead of passing without checking it.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test support only (feature `testing`): a failed set-up must stop the test"
)]

use std::sync::Arc;

use classcred_crypto::MasterKey;
use sqlx::{Connection, Executor};

use crate::{Clock, ConnectOptions, Store, SystemClock};

/// The environment variable naming the PostgreSQL server used by tests (any database on it;
/// each test creates its own).
pub const POSTGRES_ENV: &str = "CLASSCRED_TEST_POSTGRES_URL";

/// Set to `1` to make a missing [`POSTGRES_ENV`] fail the tests that want PostgreSQL instead of
/// skipping their PostgreSQL variant (CI sets it).
pub const REQUIRE_POSTGRES_ENV: &str = "CLASSCRED_REQUIRE_POSTGRES";

/// The PostgreSQL server URL for tests, from the values of [`POSTGRES_ENV`] and
/// [`REQUIRE_POSTGRES_ENV`]: `Ok(Some(url))` to run, `Ok(None)` to skip, or `Err(why)` when
/// PostgreSQL is required but not configured.
pub fn postgres_url(
    url: Option<String>,
    require: Option<String>,
) -> Result<Option<String>, String> {
    match url.filter(|s| !s.is_empty()) {
        Some(url) => Ok(Some(url)),
        None if require.as_deref() == Some("1") => Err(format!(
            "{REQUIRE_POSTGRES_ENV}=1 but {POSTGRES_ENV} is not set: this test must run on PostgreSQL \
             (set {POSTGRES_ENV}=postgres://…, or unset {REQUIRE_POSTGRES_ENV} to skip PostgreSQL)"
        )),
        None => Ok(None),
    }
}

/// A database that exists for one test.
pub struct TestDb {
    url: String,
    kind: Kind,
}

enum Kind {
    Sqlite { dir: tempfile::TempDir },
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("classcred.db").display());
        Self {
            url,
            kind: Kind::Sqlite { dir },
        }
    }

    /// A new, empty PostgreSQL database, or `None` when no server is configured.
    ///
    /// # Panics
    /// When no server is configured but [`REQUIRE_POSTGRES_ENV`] is `1`, so that the test fails
    /// instead of passing without PostgreSQL.
    pub async fn postgres() -> Option<Self> {
        let admin_url = postgres_url(
            std::env::var(POSTGRES_ENV).ok(),
            std::env::var(REQUIRE_POSTGRES_ENV).ok(),
        )
        .unwrap_or_else(|why| panic!("{why}"))?;
        sqlx::any::install_default_drivers();
        let name = format!("classcred_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::AnyConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but PostgreSQL is unreachable: {e}"));
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        conn.close().await.ok();
        Some(Self {
            url: with_database(&admin_url, &name),
            kind: Kind::Postgres { admin_url, name },
        })
    }

    /// SQLite, plus PostgreSQL when configured: run a story against each.
    pub async fn all() -> Vec<Self> {
        let mut v = vec![Self::sqlite().await];
        match Self::postgres().await {
            Some(pg) => v.push(pg),
            None => eprintln!("note: {POSTGRES_ENV} is not set; PostgreSQL variant skipped"),
        }
        v
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> &'static str {
        match self.kind {
            Kind::Sqlite { .. } => "sqlite",
            Kind::Postgres { .. } => "postgres",
        }
    }

    /// Path of the SQLite file (for raw-byte checks).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        match &self.kind {
            Kind::Sqlite { dir } => Some(dir.path().join("classcred.db")),
            Kind::Postgres { .. } => None,
        }
    }

    /// Every byte the database holds, as one haystack for "is this string stored anywhere"
    /// checks: the SQLite file with its WAL and shared memory, or on PostgreSQL every row of
    /// every registry table cast to text.
    pub async fn raw_bytes(&self, store: &Store) -> Vec<u8> {
        use sqlx::Row;
        if let Some(path) = self.sqlite_path() {
            let mut all = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                if let Ok(b) = std::fs::read(format!("{}{suffix}", path.display())) {
                    all.extend(b);
                }
            }
            assert!(all.len() > 4096, "sqlite file read");
            all
        } else {
            let mut all = Vec::new();
            for t in crate::registry::TABLES {
                let rows = sqlx::query(&format!(
                    "SELECT CAST(t.* AS TEXT) AS r FROM (SELECT * FROM {}) t",
                    t.name
                ))
                .fetch_all(store.pool())
                .await
                .expect("read a table");
                for r in rows {
                    all.extend(r.get::<String, _>("r").into_bytes());
                    all.push(b'\n');
                }
            }
            all
        }
    }

    /// Connect and migrate with the given key and clock.
    pub async fn store_with(&self, master: MasterKey, clock: Arc<dyn Clock>) -> Store {
        let store = Store::connect(&self.url, master, clock, ConnectOptions::default())
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        store
    }

    /// Connect and migrate with a fresh master key and the system clock.
    pub async fn store(&self) -> Store {
        self.store_with(MasterKey::generate(), Arc::new(SystemClock))
            .await
    }
}

/// Replace the database name in a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Kind::Postgres { admin_url, name } = &self.kind {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async context guarantees: use a private runtime on a thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin_url).await {
                        let _ = conn
                            .execute(
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                            )
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::postgres_url;

    #[test]
    fn postgres_is_skipped_only_when_not_required() {
        let url = || Some("postgres://h/test".to_string());
        let one = || Some("1".to_string());
        assert_eq!(postgres_url(url(), None), Ok(url()));
        assert_eq!(postgres_url(url(), one()), Ok(url()));
        assert_eq!(postgres_url(None, None), Ok(None));
        assert_eq!(postgres_url(None, Some("0".into())), Ok(None));
        assert_eq!(postgres_url(Some(String::new()), None), Ok(None));
        // Required but absent (or empty): an error naming both variables, never a silent skip.
        for missing in [None, Some(String::new())] {
            let why = postgres_url(missing, one()).unwrap_err();
            assert!(why.contains("CLASSCRED_REQUIRE_POSTGRES=1"), "{why}");
            assert!(why.contains("CLASSCRED_TEST_POSTGRES_URL"), "{why}");
        }
    }

    #[test]
    fn replaces_database_name() {
        assert_eq!(
            super::with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
