//! The `classcred` command: one binary, many subcommands. `main.rs` only parses and calls
//! [`run`].

pub mod config;
pub mod demo;
mod keys;
mod ledger;
mod notices;
mod slack;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use classcred_crypto::MasterKey;
use classcred_server::worker::{Handlers, Worker, WorkerConfig};
use classcred_server::{router, AppState, Application, Metrics, ServerConfig, TlsFiles};
use classcred_store::{ConnectOptions, Store, SystemClock};
use secrecy::ExposeSecret;
use tokio::sync::watch;

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
    /// Create a demo class (institution, community, staff, 24 students, messages) and serve it.
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
}

#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Give deliveries parked after repeated failures another round of attempts.
    Retry {
        #[arg(long, value_name = "ID")]
        community: String,
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
        community: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Rebuild ledger, balances, badges and levels from the inbox in memory and compare them
    /// with what is stored; exit 1 on any difference.
    Replay {
        #[arg(long, value_name = "ID")]
        community: String,
    },
    /// Add or remove points by hand (an Admin, with a reason; audited).
    Adjust {
        #[arg(long, value_name = "ID")]
        community: String,
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
    /// Create a new master key file (refuses to overwrite one).
    Init,
    /// Replace the master key: re-wrap every community data key; rows are untouched.
    Rotate {
        /// Where to write the new key when the current one came from CLASSCRED_MASTER_KEY.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; exit 0 when intact, 1 naming the first bad entry.
    Verify,
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
        Command::Registry { format } => {
            let text = match format {
                RegistryFormat::Markdown => classcred_store::registry::render_markdown(),
                RegistryFormat::Json => classcred_store::registry::render_json() + "\n",
            };
            print!("{text}");
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
                serve(&cfg, store, &args).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Community {
            command: CommunityCommand::List { format },
        } => {
            let store = open_store(&cfg, load_master_key(&cfg)?).await?;
            store.migrate().await?;
            let code = ledger::list_communities(&store, format).await?;
            store.close().await;
            Ok(code)
        }
        Command::Ledger { command } => {
            let store = open_store(&cfg, load_master_key(&cfg)?).await?;
            store.migrate().await?;
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
            let store = open_store(&cfg, load_master_key(&cfg)?).await?;
            store.migrate().await?;
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
            let store = open_store(&cfg, load_master_key(&cfg)?).await?;
            store.migrate().await?;
            let code = slack::run(&cfg, &store, command).await;
            store.close().await;
            code
        }
        Command::Keys { command } => match command {
            KeysCommand::Init => keys::init(&cfg),
            KeysCommand::Rotate { out } => keys::rotate(&cfg, out).await,
        },
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            // Verifying needs no decryption: any key will do.
            let store = connect(&cfg, MasterKey::generate()).await?;
            let result = store.verify_audit().await?;
            store.close().await;
            match result {
                Ok(ok) => {
                    println!(
                        "audit chain intact: {} entries, head {}",
                        ok.entries, ok.head_hash
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("audit chain BROKEN: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

fn init_logging(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cfg.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
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
    let key_id = key.id();
    let store = connect(cfg, key).await?;
    keys::check_key_matches(cfg, &store, &key_id).await?;
    Ok(store)
}

async fn connect(cfg: &Config, key: MasterKey) -> anyhow::Result<Store> {
    Store::connect(
        cfg.database_url.expose(),
        key,
        Arc::new(SystemClock),
        ConnectOptions {
            max_connections: cfg.db_max_connections,
            ..Default::default()
        },
    )
    .await
    .with_context(|| format!("cannot open database {}", cfg.database_url))
}

/// The periodic part of the background work. It only records work to do (in the inbox and the
/// job queue, idempotently); workers do it. Safe with any number of instances.
async fn schedule(store: Store, mut stop: watch::Receiver<bool>) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(600);
    while !*stop.borrow() {
        let communities = match store.begin().await {
            Ok(mut tx) => {
                let list = tx.list_communities().await;
                let _ = tx.commit().await;
                list.unwrap_or_default()
            }
            Err(e) => {
                tracing::warn!(error = %e, "scheduler could not reach the database");
                Vec::new()
            }
        };
        for c in communities
            .iter()
            .filter(|c| c.state == classcred_store::CommunityState::Active)
        {
            match classcred_service::schedule_week_closing(&store, &c.id).await {
                Ok(Some(week)) => {
                    tracing::info!(community_id = %c.id, %week, "week closing scheduled")
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(community_id = %c.id, error = %e, "week closing not scheduled")
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {},
            _ = stop.changed() => {},
        }
    }
}

/// Job handlers of this build.
pub fn handlers(slack: notices::SlackDelivery) -> Handlers {
    let mut h = Handlers::new();
    h.register(classcred_service::DRAIN_JOB, |store, job| async move {
        let community = job
            .payload
            .get("community_id")
            .and_then(|c| c.as_str())
            .context("drain job without community_id")?
            .to_string();
        let n = classcred_service::drain(&store, &community).await?;
        tracing::debug!(community_id = %community, processed = n, "inbox drained");
        Ok(())
    });
    slack::register(&mut h, &slack);
    h.register(classcred_service::NOTICE_JOB, move |store, job| {
        let slack = slack.clone();
        async move { notices::deliver(&store, &slack, &job).await }
    });
    h
}

async fn serve(cfg: &Config, store: Store, args: &ServeArgs) -> anyhow::Result<()> {
    // Handlers first: a SIGTERM from here on stops the server cleanly.
    let shutdown = classcred_server::shutdown_signal();
    let metrics = Arc::new(Metrics::new());
    let slack_state =
        classcred_slack::SlackState::from_config(store.clone(), metrics.clone(), cfg.slack.clone())
            .context("slack configuration")?;
    if let Some(community) = classcred_slack::ensure_single_workspace(&store, &cfg.slack).await? {
        tracing::info!(community_id = %community, "single-workspace Slack community ready");
        // users.list as a job: start-up does not wait for Slack.
        classcred_slack::sync::enqueue_sync(&store, &community).await?;
    }
    let slack_delivery = notices::SlackDelivery::new(slack_state.client.clone(), cfg.slack.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut workers = Vec::new();
    if !args.server_only {
        for _ in 0..cfg.workers.max(1) {
            let w = Worker::new(
                store.clone(),
                handlers(slack_delivery.clone()),
                metrics.clone(),
                WorkerConfig::default(),
            );
            workers.push(tokio::spawn(w.run(stop_rx.clone())));
        }
        workers.push(tokio::spawn(schedule(store.clone(), stop_rx.clone())));
    }
    if args.workers_only {
        shutdown.await;
    } else {
        let tls = match (&cfg.tls_cert_file, &cfg.tls_key_file) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        };
        let state = AppState {
            store: store.clone(),
            metrics: metrics.clone(),
        };
        let app = Application::bind(
            ServerConfig {
                listen: cfg.listen,
                tls,
                body_limit: cfg.body_limit_bytes,
            },
            router(state).merge(classcred_slack::routes(slack_state)),
            metrics,
        )
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
        // Tests and scripts read this line to find the port.
        println!("classcred listening on {}", app.local_addr());
        app.run_until(shutdown).await?;
    }
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    store.close().await;
    Ok(())
}
