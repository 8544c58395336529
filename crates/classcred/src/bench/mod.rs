//! `classcred bench`: load the Slack events endpoint with a realistic, signed class stream,
//! compare with a bare server that only verifies signatures (the ceiling, same run), drain the
//! backlog with the workers, then check every balance against the stream's own model: a fast
//! wrong result exits 1. See BENCHMARKS.md.

pub mod load;
pub mod reads;
pub mod scale;
pub mod stream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use classcred_crypto::MasterKey;
use classcred_slack::SigningSecret;
use classcred_store::{CommunityId, Store};
use secrecy::SecretString;
use serde_json::json;
use tokio::sync::oneshot;

use crate::app::{App, Role};
use crate::config::{Config, FlagOverrides};
pub use load::Mode;
pub use stream::Stream;
use stream::{uid, TEAM};

pub const SECRET: &str = "bench-signing-secret-0123456789abcdef";
const BOT_TOKEN: &str = "xoxb-bench-single-workspace";

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Students in the class.
    #[arg(long, default_value_t = 100)]
    pub students: usize,
    /// Messages in the stream (reactions, edits, deletes and redeliveries come on top).
    #[arg(long, default_value_t = 5000)]
    pub messages: usize,
    /// Share of deliveries sent again with the same event id (percent).
    #[arg(long, default_value_t = 5)]
    pub redeliveries: u32,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Open loop at this many deliveries per second (default: closed loop).
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<u32>,
    /// Random seed of the stream.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Skip the ceiling run (the bare signature-checking server).
    #[arg(long)]
    pub no_ceiling: bool,
    /// Give up draining after this many seconds (then the check fails).
    #[arg(long, default_value_t = 600)]
    pub drain_timeout: u64,
    /// What to measure: `ingest` (signed HTTP deliveries, then the drain, then the check),
    /// `drain` (backlogs of `--events` queued events), `parallel` (`--communities` busy
    /// communities at once), `reads` (`/cred me` and leaderboards at `--ledger-entries`),
    /// `idle` (the server as a child process: start to ready, idle RSS).
    #[arg(long, value_enum, default_value_t = BenchMode::Ingest)]
    pub mode: BenchMode,
    /// `drain`/`parallel`: queued events per community (comma-separated sizes for `drain`).
    #[arg(long, value_delimiter = ',', default_values_t = [5000usize, 100000])]
    pub events: Vec<usize>,
    /// `parallel`: numbers of busy communities (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2, 4])]
    pub communities: Vec<usize>,
    /// `reads`: ledger entries seeded.
    #[arg(long, default_value_t = 1_000_000)]
    pub ledger_entries: usize,
    /// `reads`: timed calls of each read.
    #[arg(long, default_value_t = 2000)]
    pub samples: usize,
}

/// What `classcred bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchMode {
    Ingest,
    Drain,
    Parallel,
    Reads,
    Idle,
}

/// What one bench run found; `correct` decides the exit code.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub backend: &'static str,
    pub events: usize,
    pub deliveries: usize,
    pub ingest_per_second: f64,
    pub ceiling_per_second: Option<f64>,
    pub drained: usize,
    pub drain_seconds: f64,
    pub mismatches: Vec<String>,
    pub replay_matches: bool,
}

impl BenchReport {
    pub fn correct(&self) -> bool {
        self.mismatches.is_empty() && self.replay_matches
    }
}

/// The command: `database_url` is the global `--database-url` (none: a temporary SQLite file;
/// `postgres://…`: a fresh database is created on that server and dropped afterwards).
pub async fn command(database_url: Option<String>, args: &BenchArgs) -> anyhow::Result<bool> {
    let mut print = |line: String| println!("{line}");
    let scaled = match args.mode {
        BenchMode::Ingest => None,
        BenchMode::Drain => Some(scale::drain_mode(database_url.clone(), args, &mut print).await),
        BenchMode::Parallel => {
            Some(scale::parallel_mode(database_url.clone(), args, &mut print).await)
        }
        BenchMode::Reads => Some(reads::reads_mode(database_url.clone(), args, &mut print).await),
        BenchMode::Idle => Some(scale::idle_mode(database_url.clone(), args, &mut print).await),
    };
    if let Some(r) = scaled {
        return match r {
            Ok(()) => {
                println!("CORRECT: the checks of this mode passed");
                Ok(true)
            }
            Err(e) if e.to_string().starts_with("WRONG RESULT") => {
                eprintln!("{e}");
                Ok(false)
            }
            Err(e) => Err(e),
        };
    }
    let report = run(database_url, args, &mut |line| println!("{line}")).await?;
    if report.correct() {
        println!("CORRECT: every balance equals the model's, replay matches");
    } else {
        eprintln!(
            "WRONG RESULT: {} balances differ from the model{}",
            report.mismatches.len(),
            if report.replay_matches {
                ""
            } else {
                "; replay does not match"
            }
        );
        for m in report.mismatches.iter().take(20) {
            eprintln!("  {m}");
        }
    }
    Ok(report.correct())
}

/// One whole run; `out` receives the report lines.
pub async fn run(
    database_url: Option<String>,
    args: &BenchArgs,
    out: &mut dyn FnMut(String),
) -> anyhow::Result<BenchReport> {
    run_with(database_url, args, out, &|_| {}).await
}

/// [`run`], with `alter` applied to the generated stream before anything is sent (tests use it
/// to lose a delivery and see the check fail).
pub async fn run_with(
    database_url: Option<String>,
    args: &BenchArgs,
    out: &mut dyn FnMut(String),
    alter: &dyn Fn(&mut Stream),
) -> anyhow::Result<BenchReport> {
    let now = chrono::Utc::now();
    let mut stream = stream::generate(
        &stream::Params {
            students: args.students,
            messages: args.messages,
            redelivery_percent: args.redeliveries,
            seed: args.seed,
        },
        now,
    );
    alter(&mut stream);
    let s = &stream.stats;
    out(format!(
        "stream: {} students, {} messages ({} with fire), {} fire reactions, {} units ({} taxed), \
         {} edits, {} deletes, {} reaction removals, {} reversed units; {} events, {} deliveries ({} redeliveries)",
        s.students, s.messages, s.messages_with_fire, s.fire_reactions, s.units, s.taxed_units,
        s.edits, s.deletes, s.reaction_removals, s.reversed_units, stream.events(),
        stream.joins.len() + stream.gives.len() + stream.reversals.len(), s.redeliveries
    ));
    let mode = match args.rate {
        Some(rate) => Mode::Open {
            rate,
            connections: args.connections.max(64),
        },
        None => Mode::Closed {
            connections: args.connections,
        },
    };
    let gives = Arc::new(stream.gives.clone());

    // The ceiling: a bare server that only verifies the signature.
    let mut ceiling_per_second = None;
    if !args.no_ceiling {
        let (addr, stop) = ceiling_server().await?;
        let url = format!("http://{addr}/slack/events");
        let client = load::client(&url)?;
        let r = load::run(&client, &url, SECRET, gives.clone(), mode).await?;
        out(format!(
            "ceiling (verify + 200), {}: {}",
            mode.describe(),
            r.summary()
        ));
        ceiling_per_second = Some(r.per_second());
        let _ = stop.send(());
    }

    let db = BenchDb::create(database_url).await?;
    let backend = db.backend();
    let dir = tempfile::tempdir().context("temporary directory")?;
    let (fake_addr, fake_stop) = fake_slack(args.students).await?;
    let master = MasterKey::generate();
    let cfg = bench_config(&db.url, &master, dir.path(), fake_addr)?;
    let rss_before = rss_kib("VmRSS");

    // Ingest: the HTTP server alone (`serve --server-only`).
    let ready_started = Instant::now();
    let store = crate::open_store(&cfg, crate::load_master_key(&cfg)?).await?;
    store.migrate().await?;
    let community = classcred_slack::ensure_single_workspace(&store, &cfg.slack)
        .await?
        .context("single-workspace community")?;
    {
        let mut tx = store.begin().await?;
        tx.for_community(&community)
            .configure_settings_before_activity(
                &json!({"timezone": "UTC", "daily_quota": stream::QUOTA}).to_string(),
            )
            .await?;
        tx.commit().await?;
    }
    let app = App::build(&cfg, store, Role::ServerOnly).await?;
    let ready = ready_started.elapsed();
    let addr = app.local_addr().context("server address")?;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));
    let rss_idle = rss_kib("VmRSS");
    out(format!(
        "{backend}: migrated and ready (start to ready) in {:.0} ms; RSS before {} KiB, idle {} KiB (this process, including the generated stream)",
        ready.as_secs_f64() * 1000.0,
        rss_before.unwrap_or(0),
        rss_idle.unwrap_or(0)
    ));
    let url = format!("http://{addr}/slack/events");
    let client = load::client(&url)?;
    let setup = Mode::Closed {
        connections: args.connections,
    };
    load::run(&client, &url, SECRET, Arc::new(stream.joins.clone()), setup).await?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let r = load::run(&client, &url, SECRET, gives.clone(), mode).await?;
    out(format!(
        "{backend} ingest (stores the inbox row), {}: {}",
        mode.describe(),
        r.summary()
    ));
    if let Some(c) = ceiling_per_second {
        out(format!(
            "{backend} ingest / ceiling: {:.1} %",
            100.0 * r.per_second() / c.max(1e-9)
        ));
    }
    let ingest_per_second = r.per_second();
    tokio::time::sleep(Duration::from_millis(20)).await;
    load::run(
        &client,
        &url,
        SECRET,
        Arc::new(stream.reversals.clone()),
        setup,
    )
    .await?;
    let _ = stop_tx.send(());
    server.await.context("server task")??;

    // Drain: the workers alone (`serve --workers-only`) over the whole backlog.
    let store = crate::open_store(&cfg, crate::load_master_key(&cfg)?).await?;
    let pending_at_start = pending(&store, &community).await?;
    let app = App::build(&cfg, store.clone(), Role::WorkersOnly).await?;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let drain_started = Instant::now();
    let workers = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));
    let deadline = drain_started + Duration::from_secs(args.drain_timeout);
    let mut left = pending_at_start;
    while left > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = pending(&store, &community).await?;
    }
    let drain = drain_started.elapsed();
    let drained = usize::try_from(pending_at_start - left).unwrap_or(0);
    out(format!(
        "{backend} drain (workers only): {drained} of {pending_at_start} queued events in {:.2} s = {:.0} events/s{}; peak RSS {} KiB",
        drain.as_secs_f64(),
        drained as f64 / drain.as_secs_f64().max(1e-9),
        if left > 0 { format!(", {left} NOT processed") } else { String::new() },
        rss_kib("VmHWM").unwrap_or(0)
    ));
    let _ = stop_tx.send(());
    workers.await.context("workers task")??;
    let _ = fake_stop.send(());

    // The check.
    let store = crate::open_store(&cfg, crate::load_master_key(&cfg)?).await?;
    let mismatches = check(&store, &community, &stream).await?;
    let replay = classcred_service::replay(&store, &community, |_, _| {}).await?;
    store.close().await;
    db.drop_database().await;
    out(format!(
        "{backend} check: {} students, {} balances differ; replay {} ({} ledger entries)",
        stream.expected.len(),
        mismatches.len(),
        if replay.matches() {
            "matches"
        } else {
            "DIFFERS"
        },
        replay.ledger_entries
    ));
    Ok(BenchReport {
        backend,
        events: stream.events(),
        deliveries: stream.joins.len() + stream.gives.len() + stream.reversals.len(),
        ingest_per_second,
        ceiling_per_second,
        drained,
        drain_seconds: drain.as_secs_f64(),
        mismatches: if left > 0 {
            let mut m = mismatches;
            m.insert(0, format!("{left} events not processed"));
            m
        } else {
            mismatches
        },
        replay_matches: replay.matches(),
    })
}

async fn pending(store: &Store, community: &CommunityId) -> anyhow::Result<i64> {
    let mut tx = store.begin().await?;
    let n = tx.for_community(community).pending_inbox_count().await?;
    tx.commit().await?;
    Ok(n)
}

/// Every student's earned points against the model's; the list of differences.
async fn check(
    store: &Store,
    community: &CommunityId,
    stream: &Stream,
) -> anyhow::Result<Vec<String>> {
    let mut tx = store.begin().await?;
    let balances = tx.for_community(community).balances().await?;
    tx.commit().await?;
    let got: std::collections::BTreeMap<String, i64> = balances
        .into_iter()
        .map(|b| (b.platform_user_id, b.earned_milli))
        .collect();
    let mut out = Vec::new();
    for (user, want) in &stream.expected {
        match got.get(user) {
            Some(g) if g == want => {}
            Some(g) => out.push(format!("{user}: server {g}, model {want} (thousandths)")),
            None => out.push(format!("{user}: not a member")),
        }
    }
    Ok(out)
}

fn bench_config(
    url: &str,
    master: &MasterKey,
    dir: &std::path::Path,
    fake_slack: SocketAddr,
) -> anyhow::Result<Config> {
    let flags = FlagOverrides {
        database_url: Some(url.to_owned()),
        listen: Some("127.0.0.1:0".to_owned()),
        master_key_file: Some(dir.join("master.key")),
        log_format: None,
        log_level: None,
    };
    let mut cfg = Config::load(None, &flags)?;
    cfg.master_key = Some(SecretString::from(master.encode().to_string()));
    cfg.slack.signing_secret = Some(SecretString::from(SECRET.to_owned()));
    cfg.slack.bot_token = Some(SecretString::from(BOT_TOKEN.to_owned()));
    cfg.slack.team_id = Some(TEAM.to_owned());
    cfg.slack.api_base_url = Some(format!("http://{fake_slack}/api/"));
    cfg.metrics_listen = None;
    Ok(cfg)
}

/// VmRSS / VmHWM of this process in KiB (Linux).
fn rss_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

async fn serve_on_loopback(
    router: axum::Router,
) -> anyhow::Result<(SocketAddr, oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok((addr, tx))
}

/// The ceiling: verifies the Slack signature (the same code as the real server) and answers 200.
async fn ceiling_server() -> anyhow::Result<(SocketAddr, oneshot::Sender<()>)> {
    let secret = Arc::new(SigningSecret::new(SECRET));
    let router = axum::Router::new()
        .route(
            "/slack/events",
            axum::routing::post(
                |State(secret): State<Arc<SigningSecret>>, headers: HeaderMap, body: Bytes| async move {
                    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
                    match classcred_slack::verify(
                        &secret,
                        h("x-slack-request-timestamp"),
                        h("x-slack-signature"),
                        &body,
                        chrono::Utc::now().timestamp(),
                    ) {
                        Ok(()) => StatusCode::OK,
                        Err(_) => StatusCode::UNAUTHORIZED,
                    }
                },
            ),
        )
        .with_state(secret);
    serve_on_loopback(router).await
}

/// A stand-in for the Slack Web API: `users.list` answers the class roster, every other
/// method `ok` (notices are accepted and dropped).
pub async fn fake_slack(students: usize) -> anyhow::Result<(SocketAddr, oneshot::Sender<()>)> {
    let roster: Vec<serde_json::Value> = (0..students.max(3))
        .map(|i| json!({"id": uid(i), "team_id": TEAM, "name": format!("student{i}"), "is_bot": false, "deleted": false, "profile": {"display_name": format!("student{i}")}}))
        .collect();
    let list = Arc::new(
        json!({"ok": true, "members": roster, "response_metadata": {"next_cursor": ""}})
            .to_string(),
    );
    let router = axum::Router::new().fallback(move |uri: Uri| {
        let list = list.clone();
        async move {
            let body = match uri.path() {
                "/api/users.list" => (*list).clone(),
                "/api/chat.postMessage" => {
                    json!({"ok": true, "channel": "D0BENCH01", "ts": "1700000000.000001"})
                        .to_string()
                }
                "/api/chat.postEphemeral" => {
                    json!({"ok": true, "message_ts": "1700000000.000001"}).to_string()
                }
                _ => json!({"ok": true}).to_string(),
            };
            ([("content-type", "application/json")], body).into_response()
        }
    });
    serve_on_loopback(router).await
}

/// The database of one run.
struct BenchDb {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[expect(dead_code, reason = "removed when dropped")] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
    None,
}

impl BenchDb {
    async fn create(url: Option<String>) -> anyhow::Result<BenchDb> {
        match url {
            None => {
                let dir = tempfile::tempdir().context("temporary directory")?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                Ok(BenchDb {
                    url,
                    cleanup: Cleanup::Sqlite(dir),
                })
            }
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                use sqlx::Connection;
                let name = format!("classcred_bench_{}", uuid_hex());
                let mut conn = sqlx::PgConnection::connect(&u)
                    .await
                    .context("cannot connect to PostgreSQL (--database-url)")?;
                sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                    .await
                    .context("CREATE DATABASE for the bench")?;
                let _ = conn.close().await;
                let mut parsed = url::Url::parse(&u).context("--database-url")?;
                parsed.set_path(&format!("/{name}"));
                Ok(BenchDb {
                    url: parsed.to_string(),
                    cleanup: Cleanup::Postgres { admin_url: u, name },
                })
            }
            Some(u) if u.starts_with("sqlite:") => Ok(BenchDb {
                url: u,
                cleanup: Cleanup::None,
            }),
            Some(_) => bail!("--database-url: sqlite://FILE or postgres://…"),
        }
    }

    fn backend(&self) -> &'static str {
        if self.url.starts_with("sqlite:") {
            "sqlite"
        } else {
            "postgres"
        }
    }

    async fn drop_database(self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin_url).await {
                let _ = sqlx::Executor::execute(
                    &mut conn,
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                )
                .await;
                let _ = conn.close().await;
            }
        }
    }
}

fn uuid_hex() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    format!("{n:016x}")
}
