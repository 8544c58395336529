//! The composition root: one place that builds the store's companions (routes of the core, of
//! Slack and of the JSON API, workers with this build's job handlers, the scheduler, the optional metrics
//! listener) from the configuration. `serve`, `demo` and the tests all go through
//! [`App::build`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use classcred_server::worker::{Worker, WorkerConfig};
use classcred_server::{
    health_router, metrics_router, router, AppState, Application, HttpLimits, Metrics,
    ServerConfig, TlsFiles,
};
use classcred_store::{ServerLease, Store};
use tokio::sync::watch;

use crate::config::Config;

/// What this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// HTTP and workers.
    All,
    /// HTTP only.
    ServerOnly,
    /// Workers and the scheduler only.
    WorkersOnly,
}

/// A built application: listeners bound, workers ready, nothing running yet.
pub struct App {
    store: Store,
    metrics: Arc<Metrics>,
    server: Option<Application>,
    metrics_server: Option<Application>,
    workers: Vec<Worker>,
    scheduler: Option<Scheduler>,
    /// While it lives, `keys rotate` refuses (see `Store::register_server`).
    lease: ServerLease,
    /// The Matrix Application Service, when `[matrix]` is configured.
    matrix: Option<classcred_matrix::MatrixState>,
}

impl App {
    /// Build everything `cfg` asks for around `store` (already migrated). Listeners are bound
    /// here, so [`App::local_addr`] is known before [`App::run_until`].
    pub async fn build(cfg: &Config, store: Store, role: Role) -> anyhow::Result<App> {
        // While this lease lives, `keys rotate` refuses; the key is checked again after taking
        // it, so a rotation either finished before (refused here) or waits until this server stops.
        let lease = store.register_server(crate::SERVER_LEASE_TTL).await?;
        crate::keys::check_key_matches(cfg, &store).await?;
        let metrics =
            Arc::new(Metrics::new().with_counts_ttl(Duration::from_millis(cfg.metrics_cache_ms)));
        let slack_state = classcred_slack::SlackState::from_config(
            store.clone(),
            metrics.clone(),
            cfg.slack.clone(),
        )
        .context("slack configuration")?
        .with_login_links(store.login_key(), crate::admin::public_base(cfg));
        if let Some(community) =
            classcred_slack::ensure_single_workspace(&store, &cfg.slack).await?
        {
            tracing::info!(community_id = %community, "single-workspace Slack community ready");
            // users.list as a job: start-up does not wait for Slack.
            classcred_slack::sync::enqueue_sync(&store, &community).await?;
        }
        // The homeserver's origin is declared to the outbound client here (like the OIDC
        // issuer): a wrong `[matrix]` stops the start with a clear error.
        let matrix = match &cfg.matrix {
            Some(m) => Some(
                classcred_matrix::MatrixState::new(store.clone(), metrics.clone(), m.clone())
                    .context("matrix configuration")?
                    .with_login_links(store.login_key(), crate::admin::public_base(cfg)),
            ),
            None => None,
        };
        // Microsoft Teams, when `[teams]` names the bot (app id and password).
        let teams_state = if cfg.teams.is_configured() {
            Some(
                classcred_teams::TeamsState::from_config(
                    store.clone(),
                    metrics.clone(),
                    cfg.teams.clone(),
                )
                .context("teams configuration")?
                .with_login_links(classcred_platform::LoginLinks::new(
                    store.login_key(),
                    crate::admin::public_base(cfg),
                )),
            )
        } else {
            None
        };
        let shutdown_timeout = Duration::from_millis(cfg.shutdown_timeout_ms);
        let mut workers = Vec::new();
        let mut scheduler = None;
        if role != Role::ServerOnly {
            // Every chat platform of this build, behind the platform seam: the job handlers
            // dispatch notices and member look-ups to the community's adapter.
            let mut platforms = classcred_platform::Platforms::new().with(
                classcred_slack::adapter(slack_state.client.clone(), cfg.slack.clone()),
            );
            if let Some(m) = &matrix {
                platforms = platforms.with(m.adapter.adapter());
            }
            if let Some(teams) = &teams_state {
                platforms = platforms.with(teams.adapter());
            }
            let signing_key = crate::erase::signing_key_path(cfg);
            for _ in 0..cfg.workers.max(1) {
                let mut handlers = crate::handlers(platforms.clone());
                if let Some(teams) = &teams_state {
                    classcred_teams::register_jobs(&mut handlers, teams);
                }
                crate::erase::register_job(&mut handlers, signing_key.clone());
                crate::export::register(&mut handlers, cfg.export_dir());
                if let Some(m) = &matrix {
                    crate::matrix::register(&mut handlers, m);
                }
                workers.push(Worker::new(
                    store.clone(),
                    handlers,
                    metrics.clone(),
                    WorkerConfig {
                        shutdown_timeout,
                        ..WorkerConfig::default()
                    },
                ));
            }
            scheduler = Some(Scheduler {
                store: store.clone(),
                every: SCHEDULE_EVERY,
                retention: Duration::from_secs(u64::from(cfg.job_retention_days) * 86_400),
            });
        }
        let (mut server, mut metrics_server) = (None, None);
        if role != Role::WorkersOnly {
            let state = AppState {
                store: store.clone(),
                metrics: metrics.clone(),
            };
            let limits = HttpLimits {
                header_timeout: Duration::from_millis(cfg.http_header_timeout_ms),
                request_timeout: Duration::from_millis(cfg.http_request_timeout_ms),
                idle_timeout: Duration::from_millis(cfg.http_idle_timeout_ms),
                max_connections: cfg.http_max_connections,
                shutdown_timeout,
                ..HttpLimits::default()
            };
            let tls = match (&cfg.tls_cert_file, &cfg.tls_key_file) {
                (Some(cert), Some(key)) => Some(TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                }),
                _ => None,
            };
            let core = match cfg.metrics_listen {
                Some(_) => health_router(state.clone()),
                None => router(state.clone()),
            };
            // Browsers reach the site over HTTPS when this server serves TLS, or when its public
            // URL says so (TLS ended by a proxy in front): then cookies are `Secure`, with the
            // `__Host-` prefix, and HSTS is sent.
            let https = tls.is_some() || crate::admin::public_base(cfg).starts_with("https://");
            let web_state = classcred_web::WebState::new(store.clone(), store.login_key(), https)
                .with_export_dir(cfg.export_dir())
                .with_privacy_actions(Arc::new(
                    classcred_service::privacy_requests::ServiceActions,
                ))
                .with_subprocessors_in_use(crate::subprocessors::in_use(cfg))
                .with_usage_statistics(cfg.usage_statistics)
                .with_device_data(classcred_web::device::DeviceData {
                    enabled: cfg.device_data,
                    trust_forwarded_for: cfg.trust_forwarded_for,
                });
            let (web_state, oidc_routes) = oidc_routes(cfg, &store, web_state, https)
                .await
                .context("OpenID Connect ([oidc])")?;
            let main = Application::bind(
                ServerConfig {
                    listen: cfg.listen,
                    tls: tls.clone(),
                    body_limit: cfg.body_limit_bytes,
                },
                core.merge(classcred_slack::routes(slack_state))
                    .merge(teams_state.map(classcred_teams::routes).unwrap_or_default())
                    .merge(classcred_web::routes(web_state))
                    .merge(oidc_routes)
                    .merge(
                        matrix
                            .clone()
                            .map(classcred_matrix::routes)
                            .unwrap_or_default(),
                    )
                    .merge(classcred_api::routes(classcred_api::ApiState::new(
                        store.clone(),
                    ))),
                metrics.clone(),
            )
            .await
            .with_context(|| format!("cannot listen on {}", cfg.listen))?
            .with_limits(limits.clone());
            server = Some(main);
            if let Some(addr) = cfg.metrics_listen {
                let m = Application::bind(
                    ServerConfig {
                        listen: addr,
                        tls,
                        body_limit: 1024,
                    },
                    health_router(state.clone()).merge(metrics_router(state)),
                    metrics.clone(),
                )
                .await
                .with_context(|| format!("cannot listen on {addr} (metrics_listen)"))?
                .with_limits(limits);
                metrics_server = Some(m);
            }
        }
        Ok(App {
            store,
            metrics,
            server,
            metrics_server,
            workers,
            scheduler,
            lease,
            matrix,
        })
    }

    /// The Matrix transaction hook (tests refuse transactions for a while with it), when
    /// `[matrix]` is configured.
    pub fn matrix_hook(&self) -> Option<Arc<classcred_matrix::http::TxnHook>> {
        self.matrix.as_ref().map(|m| m.hook.clone())
    }

    /// The main HTTP address (none for workers only).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(Application::local_addr)
    }

    /// The `metrics_listen` address, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_server.as_ref().map(Application::local_addr)
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Run until `shutdown` resolves. Then the listeners stop accepting, and requests in flight
    /// and jobs in hand get `shutdown_timeout_ms` (both at once) before they are cut off. The
    /// store is closed at the end.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |rx: watch::Receiver<bool>| async move {
            let mut rx = rx;
            let _ = rx.wait_for(|s| *s).await;
        };
        let mut tasks = tokio::task::JoinSet::new();
        for w in self.workers {
            let rx = stop_rx.clone();
            tasks.spawn(async move {
                w.run(rx).await;
                Ok(())
            });
        }
        if let Some(s) = self.scheduler {
            let rx = stop_rx.clone();
            tasks.spawn(async move {
                s.run(rx).await;
                Ok(())
            });
        }
        for app in [self.server, self.metrics_server].into_iter().flatten() {
            tasks.spawn(app.run_until(stopped(stop_rx.clone())));
        }
        // A part that fails before shutdown (a listener that cannot serve) stops the whole.
        let mut result = Ok(());
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                Some(joined) = tasks.join_next() => match joined {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        result = Err(e);
                        break;
                    }
                    Err(e) => {
                        result = Err(anyhow::anyhow!("a server task failed: {e}"));
                        break;
                    }
                },
            }
        }
        let _ = stop_tx.send(true);
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(e)) => result = Err(e),
                Err(e) => result = Err(anyhow::anyhow!("a server task failed: {e}")),
            }
        }
        if let Err(e) = self.lease.release().await {
            tracing::warn!(error = %e, "server lease not released; it runs out by itself");
        }
        self.store.close().await;
        result
    }
}

const SCHEDULE_EVERY: Duration = Duration::from_secs(600);

/// The periodic part of the background work. It only records work to do (in the inbox and the
/// job queue, idempotently) and prunes done jobs; workers do the rest. Safe with any number of
/// instances.
struct Scheduler {
    store: Store,
    every: Duration,
    retention: Duration,
}

impl Scheduler {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            self.tick().await;
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {},
                _ = stop.changed() => {},
            }
        }
    }

    async fn tick(&self) {
        let store = &self.store;
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
            match classcred_service::schedule_week_closing(store, &c.id).await {
                Ok(Some(week)) => {
                    tracing::info!(community_id = %c.id, %week, "week closing scheduled")
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(community_id = %c.id, error = %e, "week closing not scheduled")
                }
            }
        }
        match crate::erase::schedule(store).await {
            Ok(true) => tracing::info!("erasure run scheduled"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "erasure run not scheduled"),
        }
        // Once a day (deduplicated per day): apply every community's retention schedule.
        match classcred_service::retention::schedule_retention(store).await {
            Ok(true) => tracing::info!("retention run scheduled"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "retention run not scheduled"),
        }
        let retention = chrono::Duration::from_std(self.retention).unwrap_or(chrono::Duration::MAX);
        let before = store
            .clock()
            .now()
            .checked_sub_signed(retention)
            .map_or(i64::MIN, |t| t.timestamp_millis());
        if let Err(e) = classcred_service::export::enqueue_purge(store).await {
            tracing::warn!(error = %e, "export purge not scheduled");
        }
        match store.prune_done_jobs(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "done jobs pruned"),
            Err(e) => tracing::warn!(error = %e, "done jobs not pruned"),
        }
    }
}

/// When `[oidc]` is configured: discover the provider (at start-up, so a wrong issuer stops
/// the server with a clear error), offer "Sign in with <provider>" on the start page and serve
/// `/auth/oidc/start` and the callback, whose verified identities the dashboard's
/// [`classcred_web::oidc::WebSignIn`] turns into sessions.
async fn oidc_routes(
    cfg: &Config,
    store: &Store,
    web_state: classcred_web::WebState,
    tls: bool,
) -> anyhow::Result<(classcred_web::WebState, axum::Router)> {
    let Some(oidc) = &cfg.oidc else {
        return Ok((web_state, axum::Router::new()));
    };
    let base =
        url::Url::parse(&crate::admin::public_base(cfg)).context("public_url is not a URL")?;
    let client = classcred_oidc::OidcClient::discover(oidc.clone(), &base).await?;
    let provider = url::Url::parse(&oidc.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| oidc.issuer.clone());
    let web_state = web_state.with_oidc_provider(provider);
    let router = classcred_oidc::routes::router(classcred_oidc::routes::OidcRoutes {
        client: Arc::new(client),
        store: store.clone(),
        cookie_key: Arc::new(store.oidc_cookie_key()),
        secure_cookie: tls,
        hook: classcred_web::oidc::WebSignIn {
            state: web_state.clone(),
        },
    });
    Ok((web_state, router))
}
