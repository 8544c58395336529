//! The load generator: signs each delivery as Slack does and sends it over keep-alive HTTP/1.1,
//! closed loop (N connections, each sends the next delivery when its last one was answered) or
//! open loop (delivery i is due at start + i / rate; its latency counts from that due time, so a
//! slow server cannot hide its queueing: no coordinated omission).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use classcred_outbound::{Limits, OutboundClient, OutboundPolicy, Url};

use super::stream::Delivery;

/// How the deliveries are sent.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Closed { connections: usize },
    Open { rate: u32, connections: usize },
}

impl Mode {
    pub fn describe(&self) -> String {
        match self {
            Mode::Closed { connections } => format!("closed loop, {connections} connections"),
            Mode::Open { rate, connections } => {
                format!("open loop at {rate}/s (up to {connections} connections)")
            }
        }
    }
}

/// What one run measured.
pub struct RunResult {
    pub sent: usize,
    pub elapsed: Duration,
    /// Microseconds from the due time (open loop) or the send (closed loop) to the answer.
    pub latency: Histogram<u64>,
    /// Answers other than 200 (each was retried until it got a 200, as Slack retries).
    pub not_ok: usize,
    pub status_503: usize,
}

impl RunResult {
    pub fn per_second(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn summary(&self) -> String {
        let h = &self.latency;
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        format!(
            "{} deliveries in {:.2} s = {:.0}/s; latency ms p50 {:.2} p90 {:.2} p99 {:.2} p99.9 {:.2} max {:.2}{}",
            self.sent,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            ms(0.5),
            ms(0.9),
            ms(0.99),
            ms(0.999),
            h.max() as f64 / 1000.0,
            if self.not_ok > 0 {
                format!("; {} answers not 200 ({} × 503), retried", self.not_ok, self.status_503)
            } else {
                String::new()
            }
        )
    }
}

/// `X-Slack-Signature` for a body: `v0=` + hex(HMAC-SHA256(secret, "v0:{ts}:{body}")).
pub fn slack_signature(secret: &str, ts: &str, body: &[u8]) -> anyhow::Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| anyhow::anyhow!("signing secret rejected by HMAC"))?;
    mac.update(b"v0:");
    mac.update(ts.as_bytes());
    mac.update(b":");
    mac.update(body);
    Ok(format!("v0={}", hex::encode(mac.finalize().into_bytes())))
}

/// The load generator's client: the one outbound client, allowed to reach only this server's
/// own loopback listener at `base` (keep-alive HTTP/1.1 over plain http, a connection pool).
pub fn client(base: &str) -> anyhow::Result<OutboundClient> {
    let base = Url::parse(base).context("server URL")?;
    let policy = OutboundPolicy::own_server(&base).context("load generator target")?;
    OutboundClient::new(
        policy,
        Limits {
            timeout: Duration::from_secs(30),
            ..Limits::default()
        },
    )
    .context("HTTP client")
}

/// Sends every delivery to `url`; returns when each one got a 200.
pub async fn run(
    client: &OutboundClient,
    url: &str,
    secret: &str,
    deliveries: Arc<Vec<Delivery>>,
    mode: Mode,
) -> anyhow::Result<RunResult> {
    let (connections, rate) = match mode {
        Mode::Closed { connections } => (connections.max(1), None),
        Mode::Open { rate, connections } => (connections.max(1), Some(rate.max(1))),
    };
    let next = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(Mutex::new(new_histogram()?));
    let not_ok = Arc::new(AtomicUsize::new(0));
    let unavailable = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (client, url, secret) = (client.clone(), url.to_owned(), secret.to_owned());
        let (deliveries, next, total) = (deliveries.clone(), next.clone(), total.clone());
        let (not_ok, unavailable) = (not_ok.clone(), unavailable.clone());
        tasks.spawn(async move {
            let mut h = new_histogram()?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(d) = deliveries.get(i) else { break };
                let due = match rate {
                    Some(r) => {
                        let due = started + Duration::from_secs_f64(i as f64 / f64::from(r));
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                let mut attempt = 0u32;
                loop {
                    let status = send(&client, &url, &secret, d, attempt).await?;
                    if status == 200 {
                        break;
                    }
                    not_ok.fetch_add(1, Ordering::Relaxed);
                    if status == 503 {
                        unavailable.fetch_add(1, Ordering::Relaxed);
                    }
                    attempt += 1;
                    if attempt > 50 {
                        anyhow::bail!("delivery {} answered {status} 50 times", d.event_id);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let us = u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX);
                h.saturating_record(us.max(1));
            }
            let mut t = total
                .lock()
                .map_err(|_| anyhow::anyhow!("histogram lock"))?;
            t.add(&h).map_err(|e| anyhow::anyhow!("histogram: {e}"))?;
            anyhow::Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.context("load task")??;
    }
    let elapsed = started.elapsed();
    let latency = total
        .lock()
        .map_err(|_| anyhow::anyhow!("histogram lock"))?
        .clone();
    Ok(RunResult {
        sent: deliveries.len(),
        elapsed,
        latency,
        not_ok: not_ok.load(Ordering::Relaxed),
        status_503: unavailable.load(Ordering::Relaxed),
    })
}

fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    // 1 µs to 100 s, 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000, 3).map_err(|e| anyhow::anyhow!("histogram: {e}"))
}

async fn send(
    client: &OutboundClient,
    url: &str,
    secret: &str,
    d: &Delivery,
    attempt: u32,
) -> anyhow::Result<u16> {
    let ts = chrono::Utc::now().timestamp().to_string();
    let sig = slack_signature(secret, &ts, &d.body)?;
    let url = Url::parse(url).context("delivery URL")?;
    let mut req = client
        .post(&url)
        .context("load generator target")?
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", &ts)
        .header("x-slack-signature", sig);
    let retry = u32::from(d.retry) + attempt;
    if retry > 0 {
        req = req
            .header("x-slack-retry-num", retry.to_string())
            .header("x-slack-retry-reason", "http_timeout");
    }
    let r = client
        .send(req.body(d.body.clone()))
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = r.status().as_u16();
    // Read the body so the connection is reused.
    let _ = r.bytes().await;
    Ok(status)
}
