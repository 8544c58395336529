//! Prometheus metrics: request counts and latencies by route, job outcomes, queue depth.
//!
//! Every label has a bounded set of values: routes are patterns, methods are the standard ones or
//! `other`, and the queue depth is read from the database at most once per cache period however
//! many scrapes arrive.

use std::time::{Duration, Instant};

use classcred_store::jobs::JobCounts;
use classcred_store::{Store, StoreError};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    source: String,
    reason: String,
}

/// The method label: one of the standard methods, or `other` (clients may send any token).
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "other",
    }
}

/// How long job and inbox counts are reused by default.
pub const DEFAULT_COUNTS_TTL: Duration = Duration::from_secs(5);

/// Which breach a breach gauge is about: only `earliest_deadline` (no breach ids).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BreachLabels {
    breach: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PageGroupLabels {
    page_group: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// All metrics of one process.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    jobs: Family<JobLabels, Counter>,
    queue: Family<StateLabels, Gauge>,
    inbox: Family<StateLabels, Gauge>,
    rejected: Family<ReasonLabels, Counter>,
    panics: Family<KindLabels, Counter>,
    erasure_overdue: Gauge,
    privacy_overdue: Gauge,
    usage_visitors: Family<PageGroupLabels, Gauge>,
    breaches_open: Gauge,
    breaches_overdue: Gauge,
    breach_hours_left: Family<BreachLabels, Gauge>,
    counts_ttl: Duration,
    /// The last counts and when they were read. The lock is held during the query, so
    /// concurrent scrapes wait for one query instead of each running their own.
    counts: tokio::sync::Mutex<Option<(Instant, JobCounts)>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("classcred");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let jobs = Family::<JobLabels, Counter>::default();
        let queue = Family::<StateLabels, Gauge>::default();
        let inbox = Family::<StateLabels, Gauge>::default();
        let rejected = Family::<ReasonLabels, Counter>::default();
        let panics = Family::<KindLabels, Counter>::default();
        let privacy_overdue = Gauge::default();
        registry.register(
            "privacy_requests_overdue",
            "Students' privacy requests still open after their 30-day due date (all communities)",
            privacy_overdue.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "jobs_processed",
            "Jobs run by kind and outcome",
            jobs.clone(),
        );
        registry.register("jobs_queue", "Jobs in the queue by state", queue.clone());
        registry.register(
            "inbox",
            "Platform deliveries not processed yet: pending, or parked after repeated failures",
            inbox.clone(),
        );
        registry.register(
            "rejected_requests",
            "Requests refused before processing, by source and reason",
            rejected.clone(),
        );
        registry.register(
            "job_panics",
            "Job handlers that panicked, by kind (the job is failed or retried; the worker goes on)",
            panics.clone(),
        );
        let erasure_overdue = Gauge::default();
        registry.register(
            "erasure_requests_overdue",
            "Erasure requests past their 30-day due date and not done",
            erasure_overdue.clone(),
        );
        let usage_visitors = Family::<PageGroupLabels, Gauge>::default();
        registry.register(
            "usage_visitors",
            "Distinct consenting visitors today (UTC) by page group; only with usage_statistics on",
            usage_visitors.clone(),
        );
        let breaches_open = Gauge::default();
        registry.register(
            "breaches_open",
            "Recorded breaches whose 72-hour notification clock runs (not yet notified or closed)",
            breaches_open.clone(),
        );
        let breaches_overdue = Gauge::default();
        registry.register(
            "breaches_overdue",
            "Open breaches past their 72-hour notification deadline",
            breaches_overdue.clone(),
        );
        let breach_hours_left = Family::<BreachLabels, Gauge>::default();
        registry.register(
            "breach_hours_left",
            "Whole hours left before the earliest open breach's notification deadline (negative: overdue); absent without an open breach",
            breach_hours_left.clone(),
        );
        Self {
            usage_visitors,
            registry,
            requests,
            latency,
            jobs,
            queue,
            inbox,
            rejected,
            panics,
            erasure_overdue,
            privacy_overdue,
            breaches_open,
            breaches_overdue,
            breach_hours_left,
            counts_ttl: DEFAULT_COUNTS_TTL,
            counts: tokio::sync::Mutex::new(None),
        }
    }

    /// Reuse job and inbox counts for `ttl` (zero: read them on every scrape).
    pub fn with_counts_ttl(mut self, ttl: Duration) -> Self {
        self.counts_ttl = ttl;
        self
    }

    /// Job and inbox counts, from the cache when fresher than the TTL. One query at a time.
    pub async fn job_counts(&self, store: &Store) -> Result<JobCounts, StoreError> {
        let mut cached = self.counts.lock().await;
        if let Some((at, counts)) = cached.as_ref() {
            if at.elapsed() < self.counts_ttl {
                return Ok(counts.clone());
            }
        }
        let fresh = store.job_counts().await?;
        *cached = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Today's distinct consenting visitors per page group (replaces yesterday's values).
    pub fn set_usage_visitors<'a>(&self, counts: impl IntoIterator<Item = (&'a str, i64)>) {
        self.usage_visitors.clear();
        for (group, n) in counts {
            self.usage_visitors
                .get_or_create(&PageGroupLabels {
                    page_group: group.to_string(),
                })
                .set(n);
        }
    }

    /// A job handler panicked.
    pub fn observe_job_panic(&self, kind: &str) {
        self.panics
            .get_or_create(&KindLabels {
                kind: kind.to_string(),
            })
            .inc();
    }

    /// Count a request. `method` is normalised with [`method_label`].
    pub fn observe_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// `outcome`: `done`, `retry` or `failed`.
    pub fn observe_job(&self, kind: &str, outcome: &str) {
        self.jobs
            .get_or_create(&JobLabels {
                kind: kind.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// A request refused before processing (bad signature, malformed body …).
    pub fn observe_rejection(&self, source: &str, reason: &str) {
        self.rejected
            .get_or_create(&ReasonLabels {
                source: source.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// The text exposition, with the queue depth as of now.
    pub fn render(&self, counts: &JobCounts) -> String {
        for (state, n) in [
            ("queued", counts.queued),
            ("running", counts.running),
            ("done", counts.done),
            ("failed", counts.failed),
        ] {
            self.queue
                .get_or_create(&StateLabels {
                    state: state.to_string(),
                })
                .set(n);
        }
        for (state, n) in [
            ("pending", counts.inbox_pending),
            ("parked", counts.inbox_parked),
        ] {
            self.inbox
                .get_or_create(&StateLabels {
                    state: state.to_string(),
                })
                .set(n);
        }
        self.erasure_overdue.set(counts.erasure_overdue);
        self.privacy_overdue.set(counts.privacy_requests_overdue);
        self.breaches_open.set(counts.breaches_open);
        self.breaches_overdue.set(counts.breaches_overdue);
        self.breach_hours_left.clear();
        if let Some(hours) = counts.breach_hours_left {
            self.breach_hours_left
                .get_or_create(&BreachLabels {
                    breach: "earliest_deadline".into(),
                })
                .set(hours);
        }
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            // Writing to a String does not fail; should it, the scrape is short, not wrong.
            tracing::error!(error = %e, "metrics encoding failed");
        }
        out
    }
}
