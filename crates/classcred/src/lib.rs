//! The `classcred` command: one binary, many subcommands. `main.rs` only parses and calls
//! [`run`].

pub mod admin;
mod admin_token;
pub mod app;
pub mod bench;
pub mod config;
pub mod demo;
mod erase;
mod export;
mod governance;
mod keys;
mod ledger;
mod matrix;
pub mod output;
mod research;
mod retention;
mod slack;
pub mod subprocessors;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use classcred_crypto::MasterKey;
use classcred_server::worker::Handlers;
use classcred_store::{CommunityId, ConnectOptions, Store, SystemClock};
use secrecy::ExposeSecret;

pub use crate::app::{App, Role};
use crate::config::{Config, FlagOverrides, LogFormat};

/// ClassCred: peer recognition, points and privacy for class chats.
#[derive(Debug, Parser)]
#[command(name = "classcred", version, about, long_about = None)]
pub struct Cli {
    /// TOML configuration file (values there are overridden by CLASSCRED_* variables and flags).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://FILE (default sqlite://classcred.db) or postgres://USER@HOST/DB.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// File holding the master key (default classcred-master.key).
    #[arg(long, global = true, value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. info or classcred=debug.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and the background workers.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Create a demo class (an Admin, an Instructor, 40 students, six weeks of activity) and serve it.
    Demo {
        /// Create the data and exit instead of serving.
        #[arg(long)]
        no_serve: bool,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Manage the master key.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Inspect the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print the data inventory (every stored field, classified).
    Registry {
        #[arg(long, value_enum, default_value_t = RegistryFormat::Markdown)]
        format: RegistryFormat,
    },
    /// Communities on this server.
    Community {
        #[command(subcommand)]
        command: CommunityCommand,
    },
    /// Points: balances, replay, manual adjustments.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Platform deliveries waiting for processing.
    Inbox {
        #[command(subcommand)]
        command: InboxCommand,
    },
    /// Slack workspaces: member sync.
    Slack {
        #[command(subcommand)]
        command: slack::SlackCommand,
    },
    /// Matrix: the Application Service registration file.
    Matrix {
        #[command(subcommand)]
        command: matrix::MatrixCommand,
    },
    /// Access to a community: dashboard sign-in links and API tokens.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Exports: grades as CSV.
    Export {
        #[command(subcommand)]
        command: export::ExportCommand,
    },
    /// Erase a member or a whole community: requests with a grace period, or at once.
    Erase {
        #[command(subcommand)]
        command: erase::EraseCommand,
    },
    /// Erasure receipts.
    Receipt {
        #[command(subcommand)]
        command: erase::ReceiptCommand,
    },
    /// Back up the data (SQLite; not the key store). On PostgreSQL, says how to use pg_dump.
    Backup {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Restore a data backup (SQLite, no server running), then re-apply recorded erasures;
    /// or only re-apply them after a manual PostgreSQL restore.
    Restore {
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
        #[arg(long)]
        reapply_erasures: bool,
    },
    /// Retention schedules: show, set, and preview what the daily expiry run removes.
    Retention {
        #[command(subcommand)]
        command: retention::RetentionCommand,
    },
    /// Load the Slack events endpoint with a signed class stream, compare with a bare
    /// signature-checking server, drain, and check every balance (exit 1 on a wrong result).
    Bench(bench::BenchArgs),
    /// Privacy policy versions: publish a new version (every Admin is asked to acknowledge it),
    /// list the versions.
    Policy {
        #[command(subcommand)]
        command: governance::PolicyCommand,
    },
    /// The breach register: record, list (hours left to notify), notify the affected Admins,
    /// close.
    Breach {
        #[command(subcommand)]
        command: governance::BreachCommand,
    },
    /// The legal-request register: record, list, close (decision and disclosure, audited).
    LegalRequest {
        #[command(subcommand)]
        command: governance::LegalRequestCommand,
    },
    /// A de-identified research release of one community: keyed pseudonyms with a discarded
    /// key, ISO weeks, small cells suppressed, k-anonymous records, checked by the validator.
    ResearchExport(research::ResearchExportArgs),
    /// Check a research release directory (its CSV tables) with the validator: shows that a
    /// release changed after it was written (a text in a category column, an id in a number
    /// column, a lone person in a cell) is refused, naming the rule and the column.
    ResearchValidate(research::ResearchValidateArgs),
}

#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Give deliveries parked after repeated failures another round of attempts.
    Retry {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
    },
}

#[derive(Debug, Subcommand)]
pub enum CommunityCommand {
    /// List communities with their ids, platform and state.
    List {
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Per member: platform user id, role, earned, spendable, level.
    Balances {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Rebuild ledger, balances, badges and levels from the inbox in memory and compare them
    /// with what is stored; exit 1 on any difference.
    Replay {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
    },
    /// Add or remove points by hand (an Admin, with a reason; audited).
    Adjust {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        /// Platform user id of the Admin making the adjustment.
        #[arg(long, value_name = "USER")]
        by: String,
        /// Platform user id of the member adjusted.
        #[arg(long, value_name = "USER")]
        member: String,
        /// Points, up to three decimals, e.g. 2.5 or -1.
        #[arg(long, allow_hyphen_values = true)]
        points: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TableFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Run only the HTTP server, no background workers.
    #[arg(long, conflicts_with = "workers_only")]
    pub server_only: bool,
    /// Run only background workers, no HTTP server.
    #[arg(long)]
    pub workers_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new master key file (refuses to overwrite one) and the erasure-receipt
    /// signing key beside it.
    Init,
    /// Print the erasure-receipt signing public key (creates the signing key if missing).
    Public,
    /// Replace the master key: re-wrap every community data key; rows are untouched.
    Rotate {
        /// Where to write the new key when the current one came from CLASSCRED_MASTER_KEY.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Copy the key store (SQLite: the classcred-keys.db file) to a new file, mode 600.
    /// Keep key backups apart from data backups and for 30 days at most (README: backups).
    Backup {
        /// The backup file to create (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the keyed hash chain; exit 0 when intact, 1 naming the first bad entry.
    Verify {
        /// A head published earlier (the `audit head` log lines, or this command's output):
        /// fail unless the chain still contains it. Catches entries removed from the end.
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<classcred_store::audit::PublishedHead>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RegistryFormat {
    Markdown,
    Json,
}

/// Run a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let listen = match &cli.command {
        Command::Serve(a) | Command::Demo { serve: a, .. } => a.listen.clone(),
        _ => None,
    };
    let flags = FlagOverrides {
        database_url: cli.database_url.clone(),
        listen,
        master_key_file: cli.master_key_file.clone(),
        log_format: cli.log_format,
        log_level: cli.log_level.clone(),
    };
    let cfg = Config::load(cli.config.as_deref(), &flags)?;
    init_logging(&cfg);
    match cli.command {
        Command::Bench(args) => {
            let correct = bench::command(cli.database_url.clone(), &args).await?;
            Ok(if correct {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Registry { format } => {
            let text = match format {
                RegistryFormat::Markdown => classcred_store::registry::render_markdown(),
                RegistryFormat::Json => classcred_store::registry::render_json()? + "\n",
            };
            output::print(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let store = open_store(&cfg, load_master_key(&cfg)?).await?;
            store.migrate().await?;
            println!("migrations applied ({})", store.backend_name());
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => {
            let store = open_store(&cfg, load_master_key(&cfg)?).await?;
            store.migrate().await?;
            serve(&cfg, store, &args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            no_serve,
            serve: args,
        } => {
            let key = keys::load_or_create_for_demo(&cfg)?;
            let store = open_store(&cfg, key).await?;
            store.migrate().await?;
            let summary = demo::create(&store).await?;
            println!("{summary}");
            if no_serve {
                store.close().await;
            } else {
                let sign_in = demo::sign_in_members(&store, &summary.community_id).await?;
                let demo = DemoSignIn {
                    community: summary.community_id.clone(),
                    admin: sign_in.0,
                    student: sign_in.1,
                };
                serve_with(&cfg, store, &args, Some(&demo)).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Community {
            command: CommunityCommand::List { format },
        } => {
            let store = open_existing_store(&cfg).await?;
            let code = ledger::list_communities(&store, format).await?;
            store.close().await;
            Ok(code)
        }
        Command::Ledger { command } => {
            let store = open_existing_store(&cfg).await?;
            let code = match command {
                LedgerCommand::Balances { community, format } => {
                    ledger::balances(&store, &community, format).await?
                }
                LedgerCommand::Replay { community } => {
                    ledger::replay_command(&store, &community).await?
                }
                LedgerCommand::Adjust {
                    community,
                    by,
                    member,
                    points,
                    reason,
                } => ledger::adjust(&store, &community, &by, &member, &points, &reason).await?,
            };
            store.close().await;
            Ok(code)
        }
        Command::Inbox {
            command: InboxCommand::Retry { community },
        } => {
            let store = open_existing_store(&cfg).await?;
            let n = classcred_service::retry_parked(&store, &community)
                .await
                .with_context(|| format!("community {community}"))?;
            store.close().await;
            println!(
                "{n} parked deliveries re-queued; `classcred serve` workers will process them"
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Slack { command } => {
            let store = open_existing_store(&cfg).await?;
            let code = slack::run(&cfg, &store, command).await;
            store.close().await;
            code
        }
        Command::Matrix { command } => matrix::run(&cfg, command),
        Command::Admin { command } => {
            let store = open_existing_store(&cfg).await?;
            let code = admin::run(&cfg, &store, &store.login_key(), command).await;
            store.close().await;
            code
        }
        Command::Export { command } => {
            let store = open_existing_store(&cfg).await?;
            let code = export::run(&cfg, &store, command).await;
            store.close().await;
            code
        }
        Command::Erase { command } => {
            let store = open_existing_store(&cfg).await?;
            let code = erase::run(&cfg, &store, command).await;
            store.close().await;
            code
        }
        Command::Receipt { command } => erase::verify_receipt(&cfg, command),
        Command::Backup { out } => {
            let store = open_existing_store(&cfg).await?;
            let code = erase::backup(&cfg, &store, &out).await;
            store.close().await;
            code
        }
        Command::Restore {
            from,
            reapply_erasures,
        } => erase::restore(&cfg, from.as_deref(), reapply_erasures).await,
        Command::Retention { command } => {
            let store = open_existing_store(&cfg).await?;
            let code = retention::run(&store, command).await;
            store.close().await;
            code
        }
        Command::Policy { command } => {
            let store = open_existing_store(&cfg).await?;
            let code = governance::run_policy(&store, command).await;
            store.close().await;
            code
        }
        Command::Breach { command } => {
            let store = open_existing_store(&cfg).await?;
            let code = governance::run_breach(&store, command).await;
            store.close().await;
            code
        }
        Command::LegalRequest { command } => {
            let store = open_existing_store(&cfg).await?;
            let code = governance::run_legal(&store, command).await;
            store.close().await;
            code
        }
        Command::Keys { command } => match command {
            KeysCommand::Init => keys::init(&cfg),
            KeysCommand::Public => erase::print_public_key(&cfg),
            KeysCommand::Rotate { out } => keys::rotate(&cfg, out).await,
            KeysCommand::Backup { out } => {
                let store = open_existing_store(&cfg).await?;
                let code = keys::backup(&store, &out).await;
                store.close().await;
                code
            }
        },
        Command::Audit {
            command: AuditCommand::Verify { expect_head },
        } => {
            // The chain is keyed under the master key: verifying needs the configured key.
            let store = open_existing_store(&cfg).await?;
            let result = store.verify_audit_expecting(expect_head.as_ref()).await?;
            store.close().await;
            match result {
                Ok(ok) => {
                    let also = match &expect_head {
                        Some(h) => format!("; contains the expected head {h}"),
                        None => String::new(),
                    };
                    output::print(&format!(
                        "audit chain intact: {} entries, head {}:{}{also}\n",
                        ok.entries, ok.entries, ok.head_hash
                    ))?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("audit chain BROKEN: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::ResearchExport(args) => {
            let store = open_existing_store(&cfg).await?;
            let code = research::run(&store, args).await;
            store.close().await;
            code
        }
        Command::ResearchValidate(args) => research::validate_dir(args),
    }
}

fn init_logging(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cfg.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never into a log file or a collector.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match cfg.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder.try_init(),
    };
}

/// The configured master key; a clear error when there is none.
pub fn load_master_key(cfg: &Config) -> anyhow::Result<MasterKey> {
    let Some(text) = cfg.master_key_text()? else {
        bail!(
            "no master key: {} does not exist and CLASSCRED_MASTER_KEY is not set; \
             create one with `classcred keys init` (and back it up: without it the data cannot be read)",
            cfg.master_key_file.display()
        );
    };
    MasterKey::parse(text.expose_secret()).with_context(|| {
        format!(
            "master key (master_key or {}) is not valid",
            cfg.master_key_file.display()
        )
    })
}

/// Connect to the configured database and check that the master key is the one the stored
/// data keys are wrapped with.
pub async fn open_store(cfg: &Config, key: MasterKey) -> anyhow::Result<Store> {
    let store = connect(cfg, key).await?;
    keys::check_key_matches(cfg, &store).await?;
    Ok(store)
}

/// For commands that must not migrate (everything but `migrate`, `serve`, `demo` and
/// `keys rotate`): open the store with the configured key and require the database to be at
/// exactly this binary's schema. A newer binary never migrates production by reading it.
pub async fn open_existing_store(cfg: &Config) -> anyhow::Result<Store> {
    let store = connect_with(cfg, load_master_key(cfg)?, false).await?;
    store
        .require_current_schema()
        .await
        .with_context(|| format!("database {}", cfg.database_url))?;
    keys::check_key_matches(cfg, &store).await?;
    Ok(store)
}

async fn connect(cfg: &Config, key: MasterKey) -> anyhow::Result<Store> {
    connect_with(cfg, key, true).await
}

/// `create_sqlite_file`: whether a missing SQLite file is created (only by commands that set
/// the database up: `migrate`, `serve`, `demo`).
async fn connect_with(
    cfg: &Config,
    key: MasterKey,
    create_sqlite_file: bool,
) -> anyhow::Result<Store> {
    Store::connect(
        cfg.database_url.expose(),
        key,
        Arc::new(SystemClock),
        ConnectOptions {
            max_connections: cfg.db_max_connections,
            create_sqlite_file,
            key_store_path: cfg.key_store_path.clone(),
            ..Default::default()
        },
    )
    .await
    .with_context(|| format!("cannot open database {}", cfg.database_url))
}

/// Job handlers of this build.
pub fn handlers(platforms: classcred_platform::Platforms) -> Handlers {
    let mut h = Handlers::new();
    h.register(classcred_service::DRAIN_JOB, |store, job| async move {
        let community = job.payload_community_id()?;
        let n = classcred_service::drain(&store, &community).await?;
        tracing::debug!(community_id = %community, processed = n, "inbox drained");
        Ok(())
    });
    // Member look-ups and syncs, per platform (communities without a chat platform, like the
    // demo, know no one beyond their members).
    let p = platforms.clone();
    h.register(classcred_service::RESOLVE_MEMBERS_JOB, move |store, job| {
        let p = p.clone();
        async move { p.resolve_members_job(&store, &job).await }
    });
    let p = platforms.clone();
    h.register(classcred_service::SYNC_MEMBERS_JOB, move |store, job| {
        let p = p.clone();
        async move { p.sync_members_job(&store, &job).await }
    });
    // The daily expiry run: every community's retention schedule (see `retention`).
    h.register(
        classcred_service::retention::RETENTION_JOB,
        |store, _job| async move {
            let actions = classcred_service::retention::StoreActions;
            classcred_service::retention::run_all(&store, &actions).await?;
            Ok(())
        },
    );
    // Notices, on the community's platform (the demo has none: they stay in the feed).
    let posts = platforms.clone();
    let asks = platforms.clone();
    h.register(classcred_service::NOTICE_JOB, move |store, job| {
        let p = platforms.clone();
        async move { p.deliver_notice(&store, &job).await }
    });
    // Scheduled announcements, posted in their channel at their time.
    let poll_posts = posts.clone();
    let poll_results = posts.clone();
    h.register(
        classcred_service::announcements::ANNOUNCE_JOB,
        move |store, job| {
            let p = posts.clone();
            async move { p.post_announcement_job(&store, &job).await }
        },
    );
    // Polls and debates: posted in their channel, closed at their closing time.
    h.register(
        classcred_service::polls::POLL_POST_JOB,
        move |store, job| {
            let p = poll_posts.clone();
            async move { p.post_poll_job(&store, &job).await }
        },
    );
    h.register(
        classcred_service::polls::POLL_RESULTS_JOB,
        move |store, job| {
            let p = poll_results.clone();
            async move { p.post_poll_results_job(&store, &job).await }
        },
    );
    h.register(
        classcred_service::polls::POLL_CLOSE_JOB,
        |store, job| async move {
            classcred_service::polls::close_job(&store, &job).await?;
            Ok(())
        },
    );
    // Questions asked through the bot (`ask`), posted in their channel.
    h.register(classcred_platform::ask::ASK_JOB, move |store, job| {
        let p = asks.clone();
        async move { p.ask_question_job(&store, &job).await }
    });
    h
}

/// Whom the demo prints sign-in links for, after "listening on …".
struct DemoSignIn {
    community: classcred_store::CommunityId,
    admin: classcred_store::MemberRowId,
    student: classcred_store::MemberRowId,
}

async fn serve(cfg: &Config, store: Store, args: &ServeArgs) -> anyhow::Result<()> {
    serve_with(cfg, store, args, None).await
}

async fn serve_with(
    cfg: &Config,
    store: Store,
    args: &ServeArgs,
    demo: Option<&DemoSignIn>,
) -> anyhow::Result<()> {
    // Handlers first: a SIGTERM from here on stops the server cleanly.
    let shutdown = classcred_server::shutdown_signal();
    let role = if args.server_only {
        Role::ServerOnly
    } else if args.workers_only {
        Role::WorkersOnly
    } else {
        Role::All
    };
    let login_key = store.login_key();
    let now_unix = store.now_ms().div_euclid(1000);
    let app = App::build(cfg, store, role).await?;
    // Tests and scripts read these lines to find the ports.
    match app.local_addr() {
        Some(addr) => println!("classcred listening on {addr}"),
        None => println!("classcred workers started"),
    }
    if let Some(addr) = app.metrics_addr() {
        println!("classcred metrics listening on {addr}");
    }
    if let (Some(demo), Some(addr)) = (demo, app.local_addr()) {
        // Links point at the configured public URL, else at the address actually bound.
        let base = if cfg.public_url.is_some() || cfg.slack.public_base().is_some() {
            admin::public_base(cfg)
        } else {
            format!("http://{addr}")
        };
        let link = |member| {
            classcred_service::login::issue_login_link(
                &login_key,
                &base,
                &demo.community,
                member,
                now_unix,
            )
        };
        println!("Admin sign-in: {}", link(&demo.admin));
        println!("Student sign-in: {}", link(&demo.student));
    }
    app.run_until(shutdown).await
}

/// How long a server's lease lasts without a refresh (it is refreshed every third of this): a
/// crashed server blocks `keys rotate` for at most this long.
pub const SERVER_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(30);
