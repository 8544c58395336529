//! The bench's scale modes (issue 13), next to the HTTP ingest run of [`super::run`]:
//!
//! - `drain`: queue N events per size (`--events 5000,100000`) in the inbox through the
//!   service's own `ingest`, then time `drain` over the whole backlog: events/s and CPU ms per
//!   event (this process; on PostgreSQL the server's CPU is read from `/proc` too);
//! - `parallel`: 1, 2, 4… busy communities (`--communities 1,2,4`), each with its own backlog,
//!   drained at the same time;
//! - `reads`: `/cred me` and the leaderboards (in [`super::reads`]);
//! - `idle`: the real server as a child process (`classcred serve`): start to ready (first on a
//!   fresh database, then on the migrated one) and its own idle RSS from `/proc/<pid>/status`.
//!
//! Every mode checks what it measured: drains end with nothing pending and `ledger replay`
//! (which includes the aggregate check) matching. A wrong result fails the run.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use classcred_crypto::MasterKey;
use classcred_engine::Event;
use classcred_service::{drain, ingest, join_member};
use classcred_store::{
    CommunityId, ConnectOptions, MemberKind, MemberProfile, NewCommunity, NewMember, Role, Store,
    SystemClock,
};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::{BenchArgs, BenchDb};

/// Daily quota of the scale modes' communities.
const QUOTA: u32 = 5;

pub(super) fn platform_user(community: usize, i: usize) -> String {
    format!("U{community:02}S{i:05}")
}

/// CPU seconds (user + system) used so far by a process (`/proc/<pid>/stat`, clock ticks of
/// 10 ms on Linux).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields count after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// CPU seconds of every `postgres` process on the machine (the server runs the queries of a
/// PostgreSQL drain; other users of the same server count too, so this is an upper bound).
fn postgres_cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .map(|c| c.trim() == "postgres")
                .unwrap_or(false)
        })
        .filter_map(|p| cpu_seconds(&p))
        .sum()
}

pub(super) async fn open(url: &str, key: MasterKey) -> anyhow::Result<Store> {
    let store = Store::connect(
        url,
        key,
        std::sync::Arc::new(SystemClock),
        ConnectOptions {
            acquire_timeout: Duration::from_secs(120),
            ..Default::default()
        },
    )
    .await
    .context("opening the bench database")?;
    store.migrate().await?;
    Ok(store)
}

/// A community of `students` human students (joined through the inbox and processed).
pub(super) async fn community(
    store: &Store,
    n: usize,
    students: usize,
) -> anyhow::Result<CommunityId> {
    let mut tx = store.begin().await?;
    let inst = tx.create_institution("Bench U").await?;
    let c = tx
        .create_community(NewCommunity {
            institution_id: inst.id,
            name: format!("Bench course {n}"),
            platform: "slack".into(),
            platform_team_id: Some(format!("TBENCH{n:02}")),
            settings_json: json!({"timezone": "UTC", "daily_quota": QUOTA}).to_string(),
        })
        .await?;
    tx.commit().await?;
    let joined = Utc::now() - chrono::Duration::days(400);
    for chunk in (0..students).collect::<Vec<_>>().chunks(500) {
        let mut tx = store.begin().await?;
        for &i in chunk {
            join_member(
                &mut tx,
                &c.id,
                "slack",
                &NewMember {
                    platform_user_id: platform_user(n, i),
                    role: Role::Student,
                    kind: MemberKind::Human,
                    profile: MemberProfile {
                        name: Some(format!("Student {i}")),
                        ..Default::default()
                    },
                },
                joined,
            )
            .await?;
        }
        tx.commit().await?;
    }
    drain(store, &c.id).await.context("processing the joins")?;
    Ok(c.id)
}

/// A class stream of `events` engine events for community `n`: messages with 1–2 mentions
/// and 1–2 fire (some over the quota), 15 % fire reactions on earlier messages, 5 % chatter,
/// spread so that a student gives about their daily quota.
fn events(
    n: usize,
    students: usize,
    count: usize,
    seed: u64,
) -> anyhow::Result<Vec<(String, Event)>> {
    let mut rng = StdRng::seed_from_u64(seed ^ (n as u64) << 32);
    let students = students.max(3);
    let start: DateTime<Utc> = Utc::now() - chrono::Duration::days(365);
    // About 2 messages per student per day: ~4 fire units, near the quota of 5.
    let step_ms = (86_400_000 / (2 * students as i64)).max(1);
    let mut out = Vec::with_capacity(count);
    let mut posted: Vec<(String, usize)> = Vec::new();
    for k in 0..count {
        let at = start + chrono::Duration::milliseconds(step_ms * k as i64);
        let author = rng.gen_range(0..students);
        let ev = if !posted.is_empty() && rng.gen_range(0..100) < 15 {
            let (msg, msg_author) = posted[rng.gen_range(0..posted.len())].clone();
            let mut reactor = rng.gen_range(0..students);
            if reactor == msg_author {
                reactor = (reactor + 1) % students;
            }
            json!({"type": "reaction_added", "platform_message_id": msg,
                   "reactor": platform_user(n, reactor), "message_author": platform_user(n, msg_author),
                   "is_fire": true, "occurred_at": at})
        } else {
            let chatter = rng.gen_range(0..100) < 5;
            let mentions: Vec<String> = (0..rng.gen_range(1..=2))
                .map(|_| {
                    let mut m = rng.gen_range(0..students);
                    if m == author {
                        m = (m + 1) % students;
                    }
                    platform_user(n, m)
                })
                .collect();
            let fire = if chatter { 0 } else { rng.gen_range(1..=2) };
            let id = format!("C0BENCH:{}.{k:06}", at.timestamp());
            posted.push((id.clone(), author));
            json!({"type": "message_posted", "platform_message_id": id, "channel": "C0BENCH",
                   "author": platform_user(n, author), "mentions": mentions, "fire_count": fire,
                   "text": "thanks for the help with the lab :fire:", "occurred_at": at})
        };
        let event: Event = serde_json::from_value(ev).context("a bench event does not parse")?;
        out.push((format!("Ev{n:02}-{k:07}"), event));
    }
    Ok(out)
}

/// Queue events in the inbox (1,000 per transaction), as the Slack endpoint's ingest does.
async fn queue(store: &Store, c: &CommunityId, evs: &[(String, Event)]) -> anyhow::Result<()> {
    for chunk in evs.chunks(1000) {
        let mut tx = store.begin().await?;
        for (id, e) in chunk {
            ingest(&mut tx, c, "slack", id, e).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

async fn pending(store: &Store, c: &CommunityId) -> anyhow::Result<i64> {
    let mut tx = store.begin().await?;
    let n = tx.for_community(c).pending_inbox_count().await?;
    tx.commit().await?;
    Ok(n)
}

/// Drain figures of one run.
struct Drained {
    events: usize,
    seconds: f64,
    cpu_seconds: f64,
    postgres_cpu_seconds: f64,
}

/// Drain `communities` at the same time (each its own task); checks that nothing is left and
/// that replay (with the aggregate check) matches each.
async fn drain_all(
    store: &Store,
    communities: &[CommunityId],
    postgres: bool,
    out: &mut dyn FnMut(String),
) -> anyhow::Result<Drained> {
    let mut queued = 0;
    for c in communities {
        queued += pending(store, c).await?;
    }
    let cpu0 = cpu_seconds("self").unwrap_or(0.0);
    let pg0 = if postgres {
        postgres_cpu_seconds()
    } else {
        0.0
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in communities {
        let store = store.clone();
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            // A drain returns when the backlog is empty (or on a failed row: go on, as the
            // worker's next job would).
            loop {
                match drain(&store, &c).await {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) => {
                        tracing::warn!(error = %e, "bench drain error");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            n
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await.context("drain task")?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds("self").unwrap_or(0.0) - cpu0;
    let pg = if postgres {
        postgres_cpu_seconds() - pg0
    } else {
        0.0
    };
    let mut left = 0;
    for c in communities {
        left += pending(store, c).await?;
        let r = classcred_service::replay(store, c, |_, _| {}).await?;
        if !r.matches() {
            for d in r.differences.iter().take(10) {
                out(format!("  replay: {d}"));
            }
            bail!(
                "WRONG RESULT: replay of community {c} differs ({} differences)",
                r.differences.len()
            );
        }
    }
    if left > 0 {
        bail!("WRONG RESULT: {left} of {queued} events not processed");
    }
    Ok(Drained {
        events: done,
        seconds,
        cpu_seconds: cpu,
        postgres_cpu_seconds: pg,
    })
}

fn drain_line(label: &str, d: &Drained, postgres: bool) -> String {
    let per = d.events.max(1) as f64;
    format!(
        "{label}: {} events in {:.2} s = {:.0} events/s; CPU {:.3} ms/event (this process){}",
        d.events,
        d.seconds,
        d.events as f64 / d.seconds.max(1e-9),
        1000.0 * d.cpu_seconds / per,
        if postgres {
            format!(
                ", {:.3} ms/event (postgres processes)",
                1000.0 * d.postgres_cpu_seconds / per
            )
        } else {
            String::new()
        }
    )
}

/// `--mode drain`: one community per size in `--events`, each drained alone.
pub async fn drain_mode(
    url: Option<String>,
    args: &BenchArgs,
    out: &mut dyn FnMut(String),
) -> anyhow::Result<()> {
    for (i, &size) in args.events.iter().enumerate() {
        let db = BenchDb::create(url.clone()).await?;
        let backend = db.backend();
        let store = open(&db.url, MasterKey::generate()).await?;
        let c = community(&store, i, args.students).await?;
        let t = Instant::now();
        queue(&store, &c, &events(i, args.students, size, args.seed)?).await?;
        out(format!(
            "{backend}: {size} events queued in {:.1} s ({} students)",
            t.elapsed().as_secs_f64(),
            args.students
        ));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let watcher = tokio::spawn(watch(store.clone(), c.clone(), size, stopped));
        let d = drain_all(&store, std::slice::from_ref(&c), backend == "postgres", out).await;
        let _ = stop.send(());
        let windows = watcher.await.unwrap_or_default();
        store.close().await;
        db.drop_database().await;
        let d = d?;
        for w in windows {
            out(w);
        }
        out(drain_line(
            &format!("{backend} drain of {size} queued events"),
            &d,
            backend == "postgres",
        ));
    }
    Ok(())
}

/// While a drain runs: the rate and this process's CPU per event in each tenth of the backlog
/// (the pending count is read every 2 s through a read-only transaction), so a cost that grows
/// as the drain proceeds shows within one run.
async fn watch(
    store: Store,
    c: CommunityId,
    size: usize,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Vec<String> {
    let mut lines = Vec::new();
    let started = Instant::now();
    let (mut at, mut done, mut cpu) = (0.0, 0usize, cpu_seconds("self").unwrap_or(0.0));
    let step = (size / 10).max(1);
    let mut next = step;
    loop {
        tokio::select! {
            _ = &mut stop => return lines,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        let pending = async {
            let mut tx = store.begin_read().await?;
            let n = tx.for_community(&c).pending_inbox_count().await?;
            tx.commit().await?;
            Ok::<_, classcred_store::StoreError>(n)
        }
        .await;
        let Ok(pending) = pending else { continue };
        let now_done = size.saturating_sub(usize::try_from(pending).unwrap_or(0));
        if now_done < next || now_done == done {
            continue;
        }
        let t = started.elapsed().as_secs_f64();
        let c_now = cpu_seconds("self").unwrap_or(0.0);
        let n = (now_done - done) as f64;
        lines.push(format!(
            "  {:>3} % of the backlog processed ({now_done} events, {t:.0} s): last window {:.0} events/s, {:.3} ms CPU/event (this process)",
            100 * now_done / size.max(1),
            n / (t - at).max(1e-9),
            1000.0 * (c_now - cpu) / n
        ));
        (at, done, cpu) = (t, now_done, c_now);
        while next <= now_done {
            next += step;
        }
    }
}

/// `--mode parallel`: for each K in `--communities`, K communities with `--events` (the
/// first size) each, drained at the same time.
pub async fn parallel_mode(
    url: Option<String>,
    args: &BenchArgs,
    out: &mut dyn FnMut(String),
) -> anyhow::Result<()> {
    let size = args.events.first().copied().unwrap_or(5000);
    for &k in &args.communities {
        let db = BenchDb::create(url.clone()).await?;
        let backend = db.backend();
        let store = open(&db.url, MasterKey::generate()).await?;
        let mut cs = Vec::new();
        for n in 0..k {
            let c = community(&store, n, args.students).await?;
            queue(&store, &c, &events(n, args.students, size, args.seed)?).await?;
            cs.push(c);
        }
        let d = drain_all(&store, &cs, backend == "postgres", out).await;
        store.close().await;
        db.drop_database().await;
        let d = d?;
        out(format!(
            "{}; {:.0} events/s per community",
            drain_line(
                &format!("{backend} {k} busy communities ({size} events each) in parallel"),
                &d,
                backend == "postgres"
            ),
            d.events as f64 / d.seconds.max(1e-9) / k.max(1) as f64
        ));
    }
    Ok(())
}

pub(super) fn hist() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

pub(super) fn quantiles(h: &Histogram<u64>) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    format!(
        "p50 {:.3} / p90 {:.3} / p99 {:.3} / max {:.3} ms ({} samples)",
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.9)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        h.len()
    )
}

/// `--mode idle`: the real server (`classcred serve`) as a child process: start to ready on a
/// fresh database and on the migrated one, and its own RSS once idle.
pub async fn idle_mode(
    url: Option<String>,
    args: &BenchArgs,
    out: &mut dyn FnMut(String),
) -> anyhow::Result<()> {
    let db = BenchDb::create(url).await?;
    let backend = db.backend();
    let dir = tempfile::tempdir().context("temporary directory")?;
    let (fake, fake_stop) = super::fake_slack(args.students).await?;
    let key_file = dir.path().join("master.key");
    std::fs::write(&key_file, MasterKey::generate().encode().as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::write(
        dir.path().join("classcred.toml"),
        format!(
            "[slack]\nsigning_secret = \"{}\"\nbot_token = \"xoxb-bench\"\nteam_id = \"{}\"\napi_base_url = \"http://{fake}/api/\"\n",
            super::SECRET,
            super::stream::TEAM
        ),
    )?;
    let exe = std::env::current_exe().context("the classcred binary")?;
    let result = async {
        for run in ["fresh database", "migrated database"] {
            let started = Instant::now();
            let mut child = Command::new(&exe)
                .current_dir(dir.path())
                .args(["--config", "classcred.toml", "--database-url", &db.url])
                .arg("--master-key-file")
                .arg(&key_file)
                .args(["--log-level", "warn", "serve", "--listen", "127.0.0.1:0"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .context("starting classcred serve")?;
            let pid = child.id().to_string();
            let stdout = child.stdout.take().context("child stdout")?;
            let ready = tokio::task::spawn_blocking(move || {
                BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                    .any(|l| l.starts_with("classcred listening on "))
            })
            .await?;
            let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
            if !ready {
                let _ = child.kill();
                let _ = child.wait();
                bail!("classcred serve did not start");
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let field = |f: &str| {
                status
                    .lines()
                    .find(|l| l.starts_with(f))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let (rss, hwm) = (field("VmRSS"), field("VmHWM"));
            let _ = child.kill();
            let _ = child.wait();
            out(format!(
                "{backend} serve ({run}): start to ready {ready_ms:.0} ms (process start, open, migrate, bind); idle RSS {:.1} MB (peak {:.1} MB)",
                rss as f64 / 1024.0,
                hwm as f64 / 1024.0
            ));
        }
        Ok(())
    }
    .await;
    let _ = fake_stop.send(());
    db.drop_database().await;
    result
}
