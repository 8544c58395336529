//! Group commit for ingest: platform deliveries that arrive together share one transaction and
//! one commit (one fsync on SQLite, one WAL flush on PostgreSQL).
//!
//! A request hands its event to [`IngestQueue::submit`] and waits; one committer task takes
//! what is queued (at most [`GroupCommitConfig::max_batch`] rows, waiting at most
//! [`GroupCommitConfig::max_wait`] for more after the first), inserts every row in one
//! transaction, enqueues **one** drain job per community of the batch, commits, and only then
//! answers each waiting request. So an acknowledgement still means "durable in the inbox",
//! exactly as with one transaction per request; the durability settings of the backend are
//! unchanged.
//!
//! The queue is bounded ([`GroupCommitConfig::capacity`]): when it is full, `submit` fails at
//! once with [`IngestError::Busy`] (the HTTP layer answers 503 with `Retry-After`, and the
//! platform delivers again), never an unbounded backlog in memory.
//!
//! When a batch's transaction fails, each of its rows is retried in a transaction of its own,
//! so one bad row fails only its own request.

use std::sync::Arc;
use std::time::Duration;

use classcred_engine::Event;
use classcred_store::{CommunityId, InboxInsert, Store};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::{drain_job, event_type, ServiceError};

/// Limits of the group commit.
#[derive(Clone)]
pub struct GroupCommitConfig {
    /// Most rows in one transaction.
    pub max_batch: usize,
    /// After the first row of a batch, how long to wait for more (rows already queued are
    /// always taken without waiting, up to `max_batch`).
    pub max_wait: Duration,
    /// Most deliveries waiting for a commit; more are refused with [`IngestError::Busy`].
    pub capacity: usize,
    /// Test hook: when set, the committer takes one permit after writing a batch's rows and
    /// before committing them, so a test can hold a commit and watch what is answered meanwhile.
    pub commit_gate: Option<Arc<Semaphore>>,
    /// Test hook: take the gate's permit before the batch's transaction begins instead (on
    /// SQLite an open write transaction also holds up other requests' reads).
    pub gate_before_begin: bool,
}

impl Default for GroupCommitConfig {
    fn default() -> Self {
        Self {
            max_batch: 256,
            max_wait: Duration::from_millis(1),
            capacity: 4096,
            commit_gate: None,
            gate_before_begin: false,
        }
    }
}

impl std::fmt::Debug for GroupCommitConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommitConfig")
            .field("max_batch", &self.max_batch)
            .field("max_wait", &self.max_wait)
            .field("capacity", &self.capacity)
            .field("commit_gate", &self.commit_gate.is_some())
            .finish()
    }
}

/// Why a delivery was not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The queue is full: try again shortly (HTTP 503 with `Retry-After`).
    #[error("ingest queue full")]
    Busy,
    /// The committer is gone (the server is stopping).
    #[error("ingest committer stopped")]
    Stopped,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

struct Item {
    community_id: CommunityId,
    platform: &'static str,
    event_id: String,
    event_type: &'static str,
    payload: Vec<u8>,
    occurred_ms: i64,
    reply: oneshot::Sender<Result<InboxInsert, ServiceError>>,
}

/// The handle requests submit to; cheap to clone. The committer stops when every handle is
/// dropped.
#[derive(Clone)]
pub struct IngestQueue {
    tx: mpsc::Sender<Item>,
}

impl std::fmt::Debug for IngestQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestQueue")
            .field("capacity", &self.tx.max_capacity())
            .finish()
    }
}

impl IngestQueue {
    /// Starts the committer on the current tokio runtime.
    pub fn start(store: Store, config: GroupCommitConfig) -> IngestQueue {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        tokio::spawn(committer(store, config, rx));
        IngestQueue { tx }
    }

    /// Store `event` in the inbox once per `(platform, event_id)` and enqueue its processing,
    /// like [`crate::ingest`]; returns after the commit that carries the row.
    pub async fn submit(
        &self,
        community_id: &CommunityId,
        platform: &'static str,
        event_id: &str,
        event: &Event,
    ) -> Result<InboxInsert, IngestError> {
        let payload = serde_json::to_vec(event).map_err(ServiceError::from)?;
        let (reply, answer) = oneshot::channel();
        let item = Item {
            community_id: community_id.clone(),
            platform,
            event_id: event_id.to_owned(),
            event_type: event_type(event),
            payload,
            occurred_ms: event.occurred_at().timestamp_millis(),
            reply,
        };
        match self.tx.try_send(item) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => return Err(IngestError::Busy),
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(IngestError::Stopped),
        }
        match answer.await {
            Ok(r) => Ok(r?),
            Err(_) => Err(IngestError::Stopped),
        }
    }
}

async fn committer(store: Store, config: GroupCommitConfig, mut rx: mpsc::Receiver<Item>) {
    let max = config.max_batch.max(1);
    let mut batch: Vec<Item> = Vec::with_capacity(max);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        let deadline = tokio::time::Instant::now() + config.max_wait;
        while batch.len() < max {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    if config.max_wait.is_zero() {
                        break;
                    }
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(item)) => batch.push(item),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
        let gate = config.commit_gate.as_deref();
        if config.gate_before_begin {
            if let Some(g) = gate {
                if let Ok(permit) = g.acquire().await {
                    permit.forget();
                }
            }
        }
        let gate = gate.filter(|_| !config.gate_before_begin);
        commit_batch(&store, std::mem::take(&mut batch), gate).await;
    }
}

async fn commit_batch(store: &Store, batch: Vec<Item>, gate: Option<&Semaphore>) {
    let rows = batch.len();
    match insert_all(store, &batch, gate).await {
        Ok(results) => {
            tracing::trace!(rows, "ingest batch committed");
            for (item, r) in batch.into_iter().zip(results) {
                let _ = item.reply.send(Ok(r));
            }
        }
        Err(e) => {
            // Isolate the row that failed: each one in its own transaction.
            tracing::warn!(rows, error = %e, "ingest batch failed; storing its rows one by one");
            for item in batch {
                let r = insert_all(store, std::slice::from_ref(&item), None)
                    .await
                    .map(|mut v| v.pop().unwrap_or(InboxInsert::Duplicate));
                let _ = item.reply.send(r);
            }
        }
    }
}

/// All rows in one transaction, one drain job per community that got a new row.
async fn insert_all(
    store: &Store,
    items: &[Item],
    gate: Option<&Semaphore>,
) -> Result<Vec<InboxInsert>, ServiceError> {
    let mut tx = store.begin().await?;
    let mut results = Vec::with_capacity(items.len());
    let mut communities: Vec<&CommunityId> = Vec::new();
    for item in items {
        let r = tx
            .for_community(&item.community_id)
            .insert_inbox(
                item.platform,
                &item.event_id,
                item.event_type,
                &item.payload,
                item.occurred_ms,
            )
            .await?;
        if matches!(r, InboxInsert::Stored(_)) && !communities.contains(&&item.community_id) {
            communities.push(&item.community_id);
        }
        results.push(r);
    }
    for c in communities {
        tx.enqueue(&drain_job(c)).await?;
    }
    if let Some(gate) = gate {
        // Test hook: rows written, transaction open, commit held.
        if let Ok(permit) = gate.acquire().await {
            permit.forget();
        }
    }
    tx.commit().await?;
    Ok(results)
}
