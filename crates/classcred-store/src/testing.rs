//! Fresh databases for tests: a temporary SQLite file, and — when
//! `CLASSCRED_TEST_POSTGRES_URL` is set — a new PostgreSQL database per test, dropped afterwards.
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
    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var(POSTGRES_ENV).ok().filter(|s| !s.is_empty())?;
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
