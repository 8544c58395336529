//! Background workers: claim a job, run its handler, record the outcome.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use classcred_store::jobs::{ClaimedJob, FailOutcome};
use classcred_store::Store;
use tokio::sync::watch;

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
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            idle_poll: Duration::from_millis(500),
            lease: Duration::from_secs(300),
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
        let lease = i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX);
        let Some(job) = self.store.claim_job(&self.id, lease).await? else {
            return Ok(false);
        };
        let span =
            tracing::info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempts);
        let _enter = span.enter();
        let result = match self.handlers.0.get(&job.kind) {
            Some(h) => {
                match tokio::time::timeout(self.config.lease, h(self.store.clone(), job.clone()))
                    .await
                {
                    Ok(r) => r,
                    Err(_) => Err(anyhow::anyhow!(
                        "job exceeded its lease of {:?}",
                        self.config.lease
                    )),
                }
            }
            None => Err(anyhow::anyhow!("no handler for job kind {}", job.kind)),
        };
        match result {
            Ok(()) => {
                self.store.complete_job(&job.id, &self.id).await?;
                self.metrics.observe_job(&job.kind, "done");
                tracing::debug!("job done");
            }
            Err(e) => {
                let outcome = self.store.fail_job(&job, &self.id, &e.to_string()).await?;
                let label = match outcome {
                    FailOutcome::RetryAt(_) => "retry",
                    FailOutcome::Failed => "failed",
                };
                self.metrics.observe_job(&job.kind, label);
                tracing::warn!(outcome = label, error = %e, "job failed");
            }
        }
        Ok(true)
    }

    /// Work until `stop` turns true; the job in hand is finished first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, "worker started");
        while !*stop.borrow() {
            let idle = match self.run_once().await {
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
