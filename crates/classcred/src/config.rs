//! Configuration: defaults → TOML file (`--config`) → `CLASSCRED_*` environment → flags.
//!
//! Secrets can come from files: `database_url_file` (`CLASSCRED_DATABASE_URL_FILE`) and
//! `master_key_file` (`CLASSCRED_MASTER_KEY_FILE`). Secret values are typed so they never
//! print: the `Debug` of a database URL hides its password.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

/// Every configuration key (also the accepted `CLASSCRED_<KEY>` variables) and what it expects.
pub const KEYS: &[(&str, &str)] = &[
    ("database_url", "a URL starting with sqlite: or postgres://"),
    (
        "database_url_file",
        "a path to a file holding the database URL",
    ),
    ("listen", "a socket address such as 127.0.0.1:8080"),
    ("master_key", "64 hex characters or base64 of 32 bytes"),
    ("master_key_file", "a path to a file holding the master key"),
    (
        "public_url",
        "the URL people open this server at, such as https://classcred.example.org",
    ),
    ("tls_cert_file", "a path to a PEM certificate chain"),
    ("tls_key_file", "a path to a PEM private key"),
    ("log_format", "human or json"),
    (
        "log_level",
        "a tracing filter such as info or classcred=debug",
    ),
    ("body_limit_bytes", "a whole number of bytes, at least 1024"),
    ("workers", "a whole number of background workers"),
    (
        "db_max_connections",
        "a whole number of database connections",
    ),
    ("slack", "a [slack] table (see README: Connect Slack)"),
    (
        "teams",
        "a [teams] table: app_id, app_password (see README: Connect Microsoft Teams)",
    ),
    (
        "oidc",
        "an [oidc] table: issuer, client_id, client_secret (see README: Sign in with OpenID Connect)",
    ),
    (
        "matrix",
        "a [matrix] table: homeserver_url, server_name, as_token, hs_token, sender_localpart (see README: Connect Matrix)",
    ),
    (
        "metrics_listen",
        "a socket address for /metrics and /healthz alone, such as 127.0.0.1:9090",
    ),
    (
        "http_header_timeout_ms",
        "milliseconds to send request headers (also the keep-alive idle limit)",
    ),
    (
        "http_request_timeout_ms",
        "milliseconds to send a request body and be answered",
    ),
    (
        "http_idle_timeout_ms",
        "milliseconds a connection may move no byte before it is closed",
    ),
    (
        "http_max_connections",
        "a whole number of connections served at once, at least 1",
    ),
    (
        "shutdown_timeout_ms",
        "milliseconds requests and jobs in hand get after SIGTERM",
    ),
    (
        "job_retention_days",
        "a whole number of days done jobs are kept",
    ),
    (
        "metrics_cache_ms",
        "milliseconds job and inbox counts are reused by /metrics",
    ),
    (
        "key_store_path",
        "SQLite: a path to the key store file (default: beside the database, classcred-keys.db)",
    ),
    (
        "export_dir",
        "a directory for full-export archives (created 0700)",
    ),
    (
        "usage_statistics",
        "true or false (default false): optional first-party usage statistics, asked with a cookie banner",
    ),
    (
        "device_data",
        "true or false (default false): keep sign-ins' truncated network and browser for 30 days",
    ),
    (
        "trust_forwarded_for",
        "true or false (default false): a reverse proxy in front sets X-Forwarded-For",
    ),
];

/// Keys of the `[slack]` table that may also come from `CLASSCRED_SLACK__<KEY>` variables.
pub const SLACK_KEYS: &[&str] = &[
    "signing_secret",
    "bot_token",
    "team_id",
    "client_id",
    "client_secret",
    "state_secret",
    "api_base_url",
    "public_url",
    "confirm",
];

/// Keys of the `[matrix]` table that may also come from `CLASSCRED_MATRIX__<KEY>` variables.
pub const MATRIX_KEYS: &[&str] = &[
    "homeserver_url",
    "server_name",
    "as_token",
    "hs_token",
    "sender_localpart",
];

/// Keys of the `[teams]` table that may also come from `CLASSCRED_TEAMS__<KEY>` variables
/// (`service_url_origins`, a list, only from the file).
pub const TEAMS_KEYS: &[&str] = &[
    "app_id",
    "app_password",
    "tenant",
    "openid_metadata_url",
    "login_url",
];

/// Keys whose values are secrets: an error about them never shows the value.
pub const SECRET_KEYS: &[&str] = &[
    "database_url",
    "master_key",
    "slack.signing_secret",
    "slack.bot_token",
    "slack.client_secret",
    "slack.state_secret",
    "teams.app_password",
    "oidc.client_secret",
    "matrix.as_token",
    "matrix.hs_token",
];

/// What went wrong, without the offending value (figment's own messages quote it).
fn kind_without_value(kind: &figment::error::Kind) -> String {
    use figment::error::Kind;
    match kind {
        Kind::InvalidType(actual, expected) => {
            format!(
                "invalid type: found {}, expected {expected}",
                actual_kind(actual)
            )
        }
        Kind::InvalidValue(actual, expected) => {
            format!(
                "invalid value: found {}, expected {expected}",
                actual_kind(actual)
            )
        }
        Kind::Unsupported(actual) | Kind::UnsupportedKey(actual, _) => {
            format!("unsupported {}", actual_kind(actual))
        }
        other => other.to_string(),
    }
}

/// The kind of a value (`a string`, `a number`), never the value itself.
fn actual_kind(actual: &figment::error::Actual) -> &'static str {
    use figment::error::Actual;
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) | Actual::Float(_) => "a number",
        Actual::Char(_) | Actual::Str(_) | Actual::Bytes(_) => "a string",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "a value",
    }
}

fn describe(e: &figment::Error) -> String {
    let key = e.path.join(".").to_lowercase();
    let source = e
        .metadata
        .as_ref()
        .map(|m| m.name.to_string())
        .unwrap_or_else(|| "configuration".into());
    let what = if SECRET_KEYS.contains(&key.as_str()) {
        format!("{} (value not shown: secret)", kind_without_value(&e.kind))
    } else {
        e.kind.to_string()
    };
    match KEYS.iter().find(|(k, _)| *k == key) {
        // A value check that already says what it expects is not told twice.
        Some(_) if what.contains("expected") => format!("{key}: {what} (from {source})"),
        Some((_, expected)) => format!("{key}: {what}; expected {expected} (from {source})"),
        None if key.is_empty() => format!("{what} (from {source})"),
        None => format!("{key}: {what} (from {source})"),
    }
}

/// `CLASSCRED_*` variables, every value a string. figment's `Env` parses values (`123.456`
/// becomes a float, so a Slack client id or an all-digit secret is refused as "not a string"
/// and the error quotes it); here values stay text, and numeric settings are read with
/// `extract_lossy`, which parses a string where the setting is a number.
struct RawEnv(Env);

impl figment::Provider for RawEnv {
    fn metadata(&self) -> figment::Metadata {
        self.0.metadata()
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        // Plain values (no tags of their own), so figment tags them with this provider and
        // errors name the environment as their source.
        let mut dict = figment::value::Dict::new();
        for (key, value) in self.0.iter() {
            insert_nested(&mut dict, key.as_str(), value);
        }
        Ok(figment::Profile::Default.collect(dict))
    }
}

/// Insert `value` at a dotted `key` (`slack.client_id`).
fn insert_nested(dict: &mut figment::value::Dict, key: &str, value: String) {
    use figment::value::{Dict, Value};
    match key.split_once('.') {
        None => {
            dict.insert(key.to_string(), Value::from(value));
        }
        Some((head, rest)) => {
            let entry = dict
                .entry(head.to_string())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert_nested(inner, rest, value);
            }
        }
    }
}

/// The command-line flags, named as such in errors (figment would name the Rust type).
struct Flags<'a>(&'a FlagOverrides);

impl figment::Provider for Flags<'_> {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("command-line flags")
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        Serialized::globals(self.0).data()
    }
}

/// A database URL. Its password never appears in `Debug` or `Display`.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::from(url.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with any password (in the user info or a `password=` parameter) replaced by
    /// `***`.
    pub fn redacted(&self) -> String {
        let url = self.expose();
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        let mut out = match base.find("://").map(|i| i + 3) {
            Some(scheme_end) => {
                let rest = &base[scheme_end..];
                let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
                match authority.rfind('@') {
                    Some(at) => {
                        let userinfo = &authority[..at];
                        let user = userinfo.split(':').next().unwrap_or_default();
                        let masked = if userinfo.contains(':') {
                            format!("{user}:***")
                        } else {
                            user.to_string()
                        };
                        format!(
                            "{}{masked}{}",
                            &base[..scheme_end],
                            &base[scheme_end + at..]
                        )
                    }
                    None => base.to_string(),
                }
            }
            None => base.to_string(),
        };
        if let Some(q) = query {
            let params: Vec<String> = q
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            out.push('?');
            out.push_str(&params.join("&"));
        }
        out
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.starts_with("sqlite:")
            || s.starts_with("postgres://")
            || s.starts_with("postgresql://")
        {
            Ok(Self::new(s))
        } else {
            Err(serde::de::Error::custom(
                "expected a URL starting with sqlite: or postgres://",
            ))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// The resolved configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://classcred.db` (default) or `postgres://user@host/db`.
    pub database_url: DatabaseUrl,
    /// A file holding the database URL (wins over `database_url`).
    pub database_url_file: Option<PathBuf>,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The master key itself (64 hex characters or base64); wins over `master_key_file`.
    pub master_key: Option<SecretString>,
    /// A file holding the master key.
    pub master_key_file: PathBuf,
    /// The URL people open this server at (dashboard sign-in links point there); default
    /// `[slack] public_url`, else `http://<listen>`.
    pub public_url: Option<String>,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `classcred=debug,info`.
    pub log_level: String,
    /// Largest request body, in bytes.
    pub body_limit_bytes: usize,
    /// Background workers per `serve` process.
    pub workers: usize,
    /// Most database connections per process (PostgreSQL).
    pub db_max_connections: u32,
    /// The Slack app (`[slack]` table; `CLASSCRED_SLACK__SIGNING_SECRET` etc.).
    pub slack: classcred_slack::SlackConfig,
    /// The Microsoft Teams bot (`[teams]` table; `CLASSCRED_TEAMS__APP_PASSWORD` etc.); mounted
    /// when `app_id` and `app_password` are set.
    pub teams: classcred_teams::TeamsConfig,
    /// OpenID Connect sign-in for the dashboard (`[oidc]` table); `None`: login links only.
    pub oidc: Option<classcred_oidc::OidcConfig>,
    /// ClassCred as a Matrix Application Service (`[matrix]` table); `None`: no Matrix.
    pub matrix: Option<classcred_matrix::MatrixConfig>,
    /// A second address serving `/metrics` and `/healthz` only; when set, `listen` does not
    /// serve `/metrics`.
    pub metrics_listen: Option<SocketAddr>,
    /// Time to send request headers; also how long a kept-alive connection may sit idle.
    pub http_header_timeout_ms: u64,
    /// Time to send a request's body and be answered (408 past it).
    pub http_request_timeout_ms: u64,
    /// A connection on which no byte moves for this long is closed.
    pub http_idle_timeout_ms: u64,
    /// Connections served at once; past it a few more answer `/healthz` only.
    pub http_max_connections: usize,
    /// After SIGTERM, how long requests in flight and jobs in hand may still run.
    pub shutdown_timeout_ms: u64,
    /// Done jobs older than this are deleted by the scheduler.
    pub job_retention_days: u32,
    /// How long `/metrics` reuses job and inbox counts.
    pub metrics_cache_ms: u64,
    /// SQLite: the key store file, ATTACHed as `classcred_keys` (default: beside the data
    /// file, `classcred.db` → `classcred-keys.db`). PostgreSQL: unused (schema `classcred_keys`).
    pub key_store_path: Option<PathBuf>,
    /// Where full-export archives are built (created 0700); default `classcred-exports`
    /// beside the SQLite file, or in the working directory for PostgreSQL.
    pub export_dir: Option<PathBuf>,
    /// Optional first-party usage statistics: a banner asks every visitor; only those who
    /// accept get the `classcred_usage` cookie. Off by default.
    pub usage_statistics: bool,
    /// Record each dashboard sign-in's network (IPv4 /24, IPv6 /48) and browser family and
    /// OS, shown to the member on /me and purged after 30 days. Off by default.
    pub device_data: bool,
    /// A reverse proxy in front appends the client address to `X-Forwarded-For`: device data
    /// reads its last entry instead of the TCP peer. Off by default.
    pub trust_forwarded_for: bool,
}

impl Config {
    /// The directory of full-export archives ([`Config::export_dir`] or its default).
    pub fn export_dir(&self) -> PathBuf {
        if let Some(dir) = &self.export_dir {
            return dir.clone();
        }
        match classcred_store::backend::sqlite_file_path(self.database_url.expose()) {
            Some(file) => file
                .parent()
                .map(|p| p.join("classcred-exports"))
                .unwrap_or_else(|| PathBuf::from("classcred-exports")),
            None => PathBuf::from("classcred-exports"),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: DatabaseUrl::new("sqlite://classcred.db"),
            database_url_file: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            master_key: None,
            master_key_file: PathBuf::from("classcred-master.key"),
            public_url: None,
            tls_cert_file: None,
            tls_key_file: None,
            log_format: LogFormat::Human,
            log_level: "info".into(),
            body_limit_bytes: 1024 * 1024,
            workers: 2,
            db_max_connections: 10,
            slack: classcred_slack::SlackConfig::default(),
            teams: classcred_teams::TeamsConfig::default(),
            oidc: None,
            matrix: None,
            metrics_listen: None,
            http_header_timeout_ms: 10_000,
            http_request_timeout_ms: 30_000,
            http_idle_timeout_ms: 60_000,
            http_max_connections: 1024,
            shutdown_timeout_ms: 10_000,
            job_retention_days: 7,
            metrics_cache_ms: 5_000,
            key_store_path: None,
            export_dir: None,
            usage_statistics: false,
            device_data: false,
            trust_forwarded_for: false,
        }
    }
}

/// Values given as command-line flags (highest precedence). `None` means "not given".
#[derive(Debug, Default, Clone, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

/// A configuration problem, naming the key and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("configuration file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{key}: cannot read {path}: {reason}")]
    SecretFile {
        key: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("master_key_file {}: mode {mode:o} lets users other than its owner read or change the master key; run `chmod 600 {}` (and consider whether the key leaked)", path.display(), path.display())]
    KeyFileMode { path: PathBuf, mode: u32 },
    #[error("tls_cert_file and tls_key_file must be set together")]
    TlsHalf,
}

impl Config {
    /// Resolve the configuration from defaults, an optional TOML file, the process
    /// environment and flags.
    pub fn load(file: Option<&Path>, flags: &FlagOverrides) -> Result<Self, ConfigError> {
        let mut fig = Figment::new();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::File {
                    path: path.to_path_buf(),
                    reason: "no such file".into(),
                });
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        let top: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
        let slack: Vec<String> = SLACK_KEYS.iter().map(|k| format!("slack__{k}")).collect();
        let slack: Vec<&str> = slack.iter().map(String::as_str).collect();
        let matrix: Vec<String> = MATRIX_KEYS.iter().map(|k| format!("matrix__{k}")).collect();
        let matrix: Vec<&str> = matrix.iter().map(String::as_str).collect();
        let teams: Vec<String> = TEAMS_KEYS.iter().map(|k| format!("teams__{k}")).collect();
        let teams: Vec<&str> = teams.iter().map(String::as_str).collect();
        fig = fig
            .merge(RawEnv(Env::prefixed("CLASSCRED_").only(&top)))
            .merge(RawEnv(Env::prefixed("CLASSCRED_").only(&slack).split("__")))
            .merge(RawEnv(
                Env::prefixed("CLASSCRED_").only(&matrix).split("__"),
            ))
            .merge(RawEnv(Env::prefixed("CLASSCRED_").only(&teams).split("__")))
            .merge(Flags(flags));
        let mut cfg: Config = fig.extract_lossy().map_err(|e| {
            // Name every problem with its key and where the value came from.
            let all: Vec<String> = e.into_iter().map(|one| describe(&one)).collect();
            ConfigError::Invalid(all.join("; "))
        })?;
        if let Some(path) = &cfg.database_url_file {
            let text = std::fs::read_to_string(path).map_err(|err| ConfigError::SecretFile {
                key: "database_url_file",
                path: path.clone(),
                reason: err.to_string(),
            })?;
            cfg.database_url = DatabaseUrl::deserialize(serde::de::value::StrDeserializer::<
                serde::de::value::Error,
            >::new(text.trim()))
            .map_err(|e| {
                ConfigError::Invalid(format!("database_url_file {}: {e}", path.display()))
            })?;
        }
        if cfg.tls_cert_file.is_some() != cfg.tls_key_file.is_some() {
            return Err(ConfigError::TlsHalf);
        }
        if cfg.http_max_connections == 0 {
            return Err(ConfigError::Invalid(
                "http_max_connections: expected at least 1".into(),
            ));
        }
        cfg.teams
            .check()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if cfg.body_limit_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "body_limit_bytes: expected at least 1024".into(),
            ));
        }
        if let Some(m) = &cfg.matrix {
            m.validate().map_err(ConfigError::Invalid)?;
        }
        Ok(cfg)
    }

    /// The master key's text: from `master_key`, else the contents of `master_key_file`.
    /// `None` when neither exists.
    pub fn master_key_text(&self) -> Result<Option<SecretString>, ConfigError> {
        if let Some(k) = &self.master_key {
            return Ok(Some(k.clone()));
        }
        match std::fs::read_to_string(&self.master_key_file) {
            Ok(t) => {
                let t = SecretString::from(t);
                check_private(&self.master_key_file)?;
                Ok(Some(t))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ConfigError::SecretFile {
                key: "master_key_file",
                path: self.master_key_file.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

/// Refuse a key file that its group or others can read or write.
fn check_private(path: &Path) -> Result<(), ConfigError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| ConfigError::SecretFile {
                key: "master_key_file",
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(ConfigError::KeyFileMode {
                path: path.to_path_buf(),
                mode: mode & 0o777,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment's Jail returns its own (large) error type; that is its API, not ours"
)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults() {
        Jail::expect_with(|_jail| {
            let c = Config::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
            assert_eq!(c.database_url.expose(), "sqlite://classcred.db");
            assert_eq!(c.master_key_file, PathBuf::from("classcred-master.key"));
            Ok(())
        });
    }

    #[test]
    fn precedence_defaults_file_env_flags() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                r#"
                listen = "127.0.0.1:9001"
                log_level = "debug"
                database_url = "sqlite://from-file.db"
                workers = 7
                "#,
            )?;
            let file = Some(Path::new("c.toml"));
            let c = Config::load(file, &FlagOverrides::default()).unwrap();
            assert_eq!(c.listen.port(), 9001);
            assert_eq!(c.workers, 7);
            jail.set_env("CLASSCRED_LISTEN", "127.0.0.1:9002");
            jail.set_env("CLASSCRED_LOG_LEVEL", "warn");
            // Unrelated CLASSCRED_ variables are not configuration.
            jail.set_env("CLASSCRED_TEST_POSTGRES_URL", "postgres://x/y");
            let c = Config::load(file, &FlagOverrides::default()).unwrap();
            assert_eq!((c.listen.port(), c.log_level.as_str()), (9002, "warn"));
            assert_eq!(c.database_url.expose(), "sqlite://from-file.db");
            let flags = FlagOverrides {
                listen: Some("127.0.0.1:9003".into()),
                ..Default::default()
            };
            let c = Config::load(file, &flags).unwrap();
            assert_eq!((c.listen.port(), c.log_level.as_str()), (9003, "warn"));
            assert_eq!(c.workers, 7);
            Ok(())
        });
    }

    #[test]
    fn secrets_from_files_and_env() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "db-url",
                "postgres://app:s3cret-pw@db.internal:5432/classcred\n",
            )?;
            jail.create_file(
                "mk",
                "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
            )?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions("mk", std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| e.to_string())?;
            }
            jail.set_env("CLASSCRED_DATABASE_URL_FILE", "db-url");
            jail.set_env("CLASSCRED_MASTER_KEY_FILE", "mk");
            let c = Config::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(
                c.database_url.expose(),
                "postgres://app:s3cret-pw@db.internal:5432/classcred"
            );
            assert!(c
                .master_key_text()
                .unwrap()
                .unwrap()
                .expose_secret()
                .starts_with("0011"));
            jail.set_env("CLASSCRED_MASTER_KEY", "ffff");
            let c = Config::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(
                c.master_key_text().unwrap().unwrap().expose_secret(),
                "ffff"
            );
            // Nothing secret in Debug.
            let debug = format!("{c:?}");
            assert!(!debug.contains("s3cret-pw"), "{debug}");
            assert!(!debug.contains("ffff"), "{debug}");
            assert!(
                debug.contains("postgres://app:***@db.internal:5432/classcred"),
                "{debug}"
            );
            jail.set_env("CLASSCRED_DATABASE_URL_FILE", "missing-file");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("database_url_file") && err.contains("missing-file"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_key_and_expectation() {
        Jail::expect_with(|jail| {
            jail.set_env("CLASSCRED_LISTEN", "not-an-address");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("listen") && err.contains("socket address"),
                "{err}"
            );
            // The source is named for a person: the environment, not "configuration".
            assert!(
                err.contains("(from `CLASSCRED_` environment variable(s))"),
                "{err}"
            );
            let err = Config::load(
                None,
                &FlagOverrides {
                    listen: Some("also-not-an-address".into()),
                    ..FlagOverrides::default()
                },
            )
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("(from command-line flags)") && !err.contains("FlagOverrides"),
                "{err}"
            );
            let err = Config::load(
                None,
                &FlagOverrides {
                    database_url: Some("mysql://x".into()),
                    ..FlagOverrides::default()
                },
            )
            .unwrap_err()
            .to_string();
            assert_eq!(err.matches("expected").count(), 1, "said once: {err}");
            jail.set_env("CLASSCRED_LISTEN", "127.0.0.1:1");
            jail.set_env("CLASSCRED_DATABASE_URL", "mysql://x");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("database_url") && err.contains("sqlite: or postgres://"),
                "{err}"
            );
            jail.set_env("CLASSCRED_DATABASE_URL", "sqlite://x.db");
            jail.set_env("CLASSCRED_LOG_FORMAT", "xml");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("log_format") && err.contains("human"), "{err}");
            jail.set_env("CLASSCRED_LOG_FORMAT", "json");
            jail.create_file("typo.toml", "lisen = \"127.0.0.1:1\"")?;
            let err = Config::load(Some(Path::new("typo.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("lisen"), "{err}");
            let err = Config::load(Some(Path::new("nope.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("nope.toml") && err.contains("no such file"),
                "{err}"
            );
            jail.set_env("CLASSCRED_TLS_CERT_FILE", "cert.pem");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("tls_key_file"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn teams_section_from_file_and_env() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "t.toml",
                r#"
                [teams]
                app_id = "00000000-0000-4000-8000-00000000c1a5"
                service_url_origins = ["https://smba.trafficmanager.net", "https://smba.infra.gcc.teams.microsoft.com"]
                "#,
            )?;
            jail.set_env(
                "CLASSCRED_TEAMS__APP_PASSWORD",
                "entra-client-secret-0123456789abcdefghij",
            );
            let c = Config::load(Some(Path::new("t.toml")), &FlagOverrides::default()).unwrap();
            assert!(c.teams.is_configured());
            assert_eq!(c.teams.service_origins().unwrap().len(), 2);
            assert!(!format!("{c:?}").contains("entra-client-secret"));
            // A short password is refused, naming the key and not the value.
            jail.set_env("CLASSCRED_TEAMS__APP_PASSWORD", "short-pw");
            let err = Config::load(Some(Path::new("t.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("teams.app_password") && !err.contains("short-pw"),
                "{err}"
            );
            // A serviceUrl origin over plain HTTP is refused at start.
            jail.set_env(
                "CLASSCRED_TEAMS__APP_PASSWORD",
                "entra-client-secret-0123456789abcdefghij",
            );
            jail.create_file(
                "h.toml",
                "[teams]\napp_id = \"a\"\nservice_url_origins = [\"http://smba.trafficmanager.net\"]\n",
            )?;
            let err = Config::load(Some(Path::new("h.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("teams.service_url_origins"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn slack_section_from_file_and_env() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                r#"
                [slack]
                team_id = "T0FILE"
                signing_secret = "from-file-secret-0123456789abcdef"
                "#,
            )?;
            jail.set_env("CLASSCRED_SLACK__TEAM_ID", "T0ENV");
            let c = Config::load(Some(Path::new("c.toml")), &FlagOverrides::default()).unwrap();
            assert_eq!(c.slack.team_id.as_deref(), Some("T0ENV"));
            assert_eq!(
                c.slack
                    .signing_secret
                    .as_ref()
                    .map(|s| s.expose_secret().to_string()),
                Some("from-file-secret-0123456789abcdef".to_string())
            );
            assert!(!format!("{c:?}").contains("from-file-secret-0123456789abcdef"));
            jail.create_file("bad.toml", "[slack]\nsigning_secrett = \"x\"")?;
            let err = Config::load(Some(Path::new("bad.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("signing_secrett"), "{err}");
            // Finding 9: a short state secret is refused at start, naming the key.
            jail.create_file("short.toml", "[slack]\nstate_secret = \"x\"")?;
            let err = Config::load(Some(Path::new("short.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("state_secret") && err.contains("at least 32"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn matrix_section_is_checked() {
        Jail::expect_with(|jail| {
            let (a, h) = (
                classcred_matrix::Token::generate(),
                classcred_matrix::Token::generate(),
            );
            jail.create_file(
                "m.toml",
                &format!(
                    "[matrix]\nhomeserver_url = \"https://matrix.example.org\"\nserver_name = \"example.org\"\nas_token = \"{}\"\nhs_token = \"{}\"\n",
                    a.expose(),
                    h.expose()
                ),
            )?;
            let c = Config::load(Some(Path::new("m.toml")), &FlagOverrides::default()).unwrap();
            let m = c.matrix.as_ref().unwrap();
            assert_eq!(m.bot_user_id(), "@classcred:example.org");
            assert!(!format!("{c:?}").contains(a.expose()));
            jail.set_env("CLASSCRED_MATRIX__SENDER_LOCALPART", "kudos");
            let c = Config::load(Some(Path::new("m.toml")), &FlagOverrides::default()).unwrap();
            assert_eq!(c.matrix.unwrap().bot_user_id(), "@kudos:example.org");
            // A weak token is refused, naming the key, never showing the value.
            jail.set_env("CLASSCRED_MATRIX__HS_TOKEN", "hunter2hunter2");
            let err = Config::load(Some(Path::new("m.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("matrix.hs_token") && err.contains("at least 32"),
                "{err}"
            );
            assert!(!err.contains("hunter2"), "{err}");
            jail.set_env("CLASSCRED_MATRIX__HS_TOKEN", h.expose());
            // Plain http only on loopback.
            jail.set_env(
                "CLASSCRED_MATRIX__HOMESERVER_URL",
                "http://matrix.example.org",
            );
            let err = Config::load(Some(Path::new("m.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("matrix.homeserver_url"), "{err}");
            jail.set_env("CLASSCRED_MATRIX__HOMESERVER_URL", "http://127.0.0.1:8008");
            assert!(Config::load(Some(Path::new("m.toml")), &FlagOverrides::default()).is_ok());
            Ok(())
        });
    }

    /// Finding 14: environment values are strings where the setting is a string.
    #[test]
    fn env_values_are_not_type_sniffed() {
        Jail::expect_with(|jail| {
            // A real Slack client id has the shape digits.digits.
            jail.set_env("CLASSCRED_SLACK__CLIENT_ID", "1234567890123.9876543210987");
            jail.set_env("CLASSCRED_SLACK__TEAM_ID", "12345");
            jail.set_env("CLASSCRED_SLACK__CLIENT_SECRET", "0123456789");
            // An all-digit hex master key.
            let digits = "1234567890".repeat(6) + "1234";
            jail.set_env("CLASSCRED_MASTER_KEY", &digits);
            // Numbers and booleans still work where the setting is one.
            jail.set_env("CLASSCRED_WORKERS", "5");
            jail.set_env("CLASSCRED_BODY_LIMIT_BYTES", "4096");
            let c = Config::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(
                c.slack.client_id.as_deref(),
                Some("1234567890123.9876543210987")
            );
            assert_eq!(c.slack.team_id.as_deref(), Some("12345"));
            assert_eq!(
                c.slack
                    .client_secret
                    .as_ref()
                    .map(|s| s.expose_secret().to_string()),
                Some("0123456789".to_string())
            );
            assert_eq!(
                c.master_key.as_ref().map(|s| s.expose_secret().to_string()),
                Some(digits)
            );
            assert_eq!((c.workers, c.body_limit_bytes), (5, 4096));
            jail.set_env("CLASSCRED_WORKERS", "many");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("workers"), "{err}");
            Ok(())
        });
    }

    /// Finding 14: an error about a secret setting never shows its value.
    #[test]
    fn errors_never_echo_secret_values() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "master_key = 987654321987654321\n[slack]\nsigning_secret = 31415926535\n",
            )?;
            let err = Config::load(Some(Path::new("c.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("master_key"), "{err}");
            assert!(err.contains("value not shown"), "{err}");
            assert!(!err.contains("987654321"), "{err}");
            assert!(!err.contains("31415926535"), "{err}");
            // Non-secret settings still say what was found.
            jail.create_file("d.toml", "workers = \"lots\"\n")?;
            let err = Config::load(Some(Path::new("d.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("lots"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn redaction_of_urls() {
        for (url, shown) in [
            ("postgres://u:pw@h/db", "postgres://u:***@h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            (
                "postgres://h/db?sslmode=require&password=x",
                "postgres://h/db?sslmode=require&password=***",
            ),
            ("sqlite://classcred.db", "sqlite://classcred.db"),
            ("postgres://u:p@ss@h:5/db", "postgres://u:***@h:5/db"),
        ] {
            assert_eq!(DatabaseUrl::new(url).redacted(), shown);
        }
    }
}
