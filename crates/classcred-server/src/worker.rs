//! Background workers: claim a job, run its handler, record the outcome.
//!
//! A handler runs in its own task, so a panic in it fails (or retries) that job and is counted
//! (`classcred_job_panics_total`) while the worker goes on. A stopping worker gives the job in
//! hand a deadline, then puts it back in the queue.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use classcred_store::jobs::{ClaimedJob, FailOutcome};
use classcred_store::Store;
use tokio::sync::watch;
use tracing::Instrument;

use crate::Metrics;

pub type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
/// A job handler. It must be idempotent: a job can run again after a crash.
pub type Handler = Arc<dyn Fn(Store, ClaimedJob) -> JobFuture + Send + Sync>;

/// Job kinds and their handlers.
#[derive(Clone, Default)]
pub struct Handlers(HashMap<String, Handler>);

impl Handlers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register<F, Fut>(&mut self, kind: &str, f: F) -> &mut Self
    where
        F: Fn(Store, ClaimedJob) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.0
            .insert(kind.to_string(), Arc::new(move |s, j| Box::pin(f(s, j))));
        self
    }
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How long to wait when the queue is empty.
    pub idle_poll: Duration,
    /// How long a claimed job is held before another worker may take it.
    pub lease: Duration,
    /// After the stop signal, how long the job in hand may still run. Past it the job is
    /// abandoned: its handler is cancelled (a transaction in progress rolls back) and the job is
    /// put back in the queue, due at once, without counting the attempt.
    pub shutdown_timeout: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            idle_poll: Duration::from_millis(500),
            lease: Duration::from_secs(300),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

pub struct Worker {
    pub id: String,
    store: Store,
    handlers: Handlers,
    metrics: Arc<Metrics>,
    config: WorkerConfig,
}

/// How a handler run ended.
enum Ran {
    Ok,
    Err(anyhow::Error),
    Panicked,
    /// Cancelled because the worker is stopping.
    Abandoned,
}

impl Worker {
    pub fn new(
        store: Store,
        handlers: Handlers,
        metrics: Arc<Metrics>,
        config: WorkerConfig,
    ) -> Self {
        let id = format!(
            "worker-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        Self {
            id,
            store,
            handlers,
            metrics,
            config,
        }
    }

    /// Run one job if one is due. Returns whether a job was run.
    pub async fn run_once(&self) -> anyhow::Result<bool> {
        self.run_next(None).await
    }

    async fn run_next(&self, stop: Option<watch::Receiver<bool>>) -> anyhow::Result<bool> {
        let lease = i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX);
        let Some(job) = self.store.claim_job(&self.id, lease).await? else {
            return Ok(false);
        };
        // The span is attached to the futures, never entered across an `.await`.
        let span =
            tracing::info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempts);
        self.handle(job, stop).instrument(span).await?;
        Ok(true)
    }

    async fn handle(
        &self,
        job: ClaimedJob,
        stop: Option<watch::Receiver<bool>>,
    ) -> anyhow::Result<()> {
        let ran = match self.handlers.0.get(&job.kind) {
            Some(h) => {
                // Its own task: a panic there is caught here, not in the worker.
                let task = tokio::spawn(
                    h(self.store.clone(), job.clone()).instrument(tracing::Span::current()),
                );
                self.supervise(task, stop).await
            }
            None => Ran::Err(anyhow::anyhow!("no handler for job kind {}", job.kind)),
        };
        let error = match ran {
            Ran::Ok => {
                self.store.complete_job(&job.id, &self.id).await?;
                self.metrics.observe_job(&job.kind, "done");
                tracing::debug!("job done");
                return Ok(());
            }
            Ran::Abandoned => {
                self.store.release_job(&job, &self.id).await?;
                self.metrics.observe_job(&job.kind, "abandoned");
                tracing::warn!("job abandoned at shutdown; it is queued again");
                return Ok(());
            }
            Ran::Panicked => {
                self.metrics.observe_job_panic(&job.kind);
                // The panic message is not recorded: it could quote anything.
                "job handler panicked".to_string()
            }
            Ran::Err(e) => e.to_string(),
        };
        let outcome = self.store.fail_job(&job, &self.id, &error).await?;
        let label = match outcome {
            FailOutcome::RetryAt(_) => "retry",
            FailOutcome::Failed => "failed",
        };
        self.metrics.observe_job(&job.kind, label);
        tracing::warn!(outcome = label, error = %error, "job failed");
        Ok(())
    }

    /// Wait for the handler task: until it ends, its lease runs out, or (with `stop`) the
    /// shutdown deadline passes.
    async fn supervise(
        &self,
        mut task: tokio::task::JoinHandle<anyhow::Result<()>>,
        stop: Option<watch::Receiver<bool>>,
    ) -> Ran {
        let lease = self.config.lease;
        let deadline = async {
            match stop {
                Some(stop) => stop_deadline(stop, self.config.shutdown_timeout).await,
                None => std::future::pending().await,
            }
        };
        let ran = tokio::select! {
            joined = tokio::time::timeout(lease, &mut task) => match joined {
                Ok(Ok(Ok(()))) => Ran::Ok,
                Ok(Ok(Err(e))) => Ran::Err(e),
                Ok(Err(e)) if e.is_panic() => Ran::Panicked,
                Ok(Err(e)) => Ran::Err(anyhow::anyhow!("job handler task ended: {e}")),
                Err(_) => Ran::Err(anyhow::anyhow!("job exceeded its lease of {lease:?}")),
            },
            () = deadline => Ran::Abandoned,
        };
        // A handler past its lease or its shutdown deadline is cancelled, not left running.
        task.abort();
        ran
    }

    /// Work until `stop` turns true. The job in hand gets [`WorkerConfig::shutdown_timeout`] to
    /// finish; then it is abandoned to the queue.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, "worker started");
        while !*stop.borrow() {
            let idle = match self.run_next(Some(stop.clone())).await {
                Ok(true) => false,
                Ok(false) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "worker could not reach the queue");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(self.config.idle_poll) => {},
                    _ = stop.changed() => {},
                }
            }
        }
        tracing::info!(worker = %self.id, "worker stopped");
    }
}

/// Resolves `grace` after `stop` turns true (never, if its sender is gone without stopping).
async fn stop_deadline(mut stop: watch::Receiver<bool>, grace: Duration) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
    tokio::time::sleep(grace).await;
}
