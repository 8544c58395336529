//! Issue 13 §5, crash durability: the real binary (`serve`) is killed with SIGKILL several
//! times while signed Slack deliveries stream in; after each kill it is started again and the
//! deliveries that were not acknowledged are sent again (as Slack retries). In the end every
//! delivery acknowledged with 200 was stored and processed exactly once: every student's
//! earned points equal the bench generator's model, nothing is pending, and replay agrees. No
//! timing is asserted (the deadlines only turn a hang into a failure).

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use classcred::bench::stream::{self, Delivery};
use classcred_store::testing::TestDb;
use classcred_store::NewCommunity;

use crate::support::*;

const KILLS: usize = 4;

#[test]
fn kill_9_under_load_loses_no_acknowledged_event_and_processes_each_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut dbs = vec![rt.block_on(TestDb::sqlite())];
    if let Some(pg) = rt.block_on(TestDb::postgres()) {
        dbs.push(pg);
    } else {
        eprintln!("note: PostgreSQL not configured; only SQLite ran");
    }
    for db in dbs {
        crash_run(&rt, &db);
    }
}

fn crash_run(rt: &tokio::runtime::Runtime, db: &TestDb) {
    let backend = db.backend();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["keys", "init"]).status.success());
    let key_text = std::fs::read_to_string(d.join("classcred-master.key")).unwrap();
    let students = 20;
    let (fake, _fake_stop) = rt.block_on(classcred::bench::fake_slack(students)).unwrap();
    std::fs::write(
        d.join("classcred.toml"),
        format!(
            "[slack]\nsigning_secret = \"{}\"\nbot_token = \"xoxb-crash\"\nteam_id = \"{}\"\napi_base_url = \"http://{fake}/api/\"\n",
            classcred::bench::SECRET,
            stream::TEAM
        ),
    )
    .unwrap();
    // The workspace's community, with the quota the generator's model uses.
    let store = rt.block_on(async {
        let store = db
            .store_with(
                classcred_crypto::MasterKey::parse(&key_text).unwrap(),
                Arc::new(classcred_store::SystemClock),
            )
            .await;
        let mut tx = store.begin().await.unwrap();
        let inst = tx.create_institution("U").await.unwrap();
        let c = tx
            .create_community(NewCommunity {
                institution_id: inst.id,
                name: "Crash".into(),
                platform: "slack".into(),
                platform_team_id: Some(stream::TEAM.into()),
                settings_json: serde_json::json!({"timezone": "UTC", "daily_quota": stream::QUOTA})
                    .to_string(),
            })
            .await
            .unwrap()
            .id;
        tx.commit().await.unwrap();
        (store, c)
    });
    let (store, community) = store;
    let s = stream::generate(
        &stream::Params {
            students,
            messages: 150,
            redelivery_percent: 5,
            seed: 13,
        },
        chrono::Utc::now(),
    );
    let total = s.joins.len() + s.gives.len() + s.reversals.len();
    assert!(total >= 200, "a few hundred deliveries: {total}");
    assert!(
        !s.joins.is_empty() && !s.gives.is_empty() && !s.reversals.is_empty(),
        "three phases to kill in"
    );
    let acked = Arc::new(AtomicUsize::new(0));
    let mut kills = 0;
    let mut server = start(d, db.url());
    // Phases in order, each fully acknowledged before the next (the model requires it).
    for phase in [&s.joins, &s.gives, &s.reversals] {
        let mut left: Vec<Delivery> = phase.clone();
        while !left.is_empty() {
            // Kill after a share (at least one) of this attempt's deliveries were acknowledged,
            // in every attempt until KILLS kills were made: each phase's first attempt is killed,
            // so the count does not depend on how fast the server answers.
            let kill_after =
                (kills < KILLS).then(|| acked.load(Ordering::SeqCst) + (left.len() / 3).max(1));
            let url = format!("http://{}/slack/events", server.1);
            let pid = server.0.id();
            let counter = acked.clone();
            let killer = kill_after.map(|at| {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let until = Instant::now() + Duration::from_secs(300);
                    while counter.load(Ordering::SeqCst) < at && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    std::process::Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status()
                        .unwrap();
                })
            });
            let results = rt.block_on(send_all(&url, &left, counter));
            left = left
                .into_iter()
                .zip(results)
                .filter(|(_, ok)| !ok)
                .map(|(d, _)| d)
                .collect();
            if let Some(k) = killer {
                k.join().unwrap();
                let _ = server.0.wait();
                kills += 1;
                server = start(d, db.url());
            }
        }
    }
    assert!(
        kills >= 3,
        "{backend}: the server was killed under load in every phase ({kills} kills)"
    );
    // Let the restarted server drain, then stop it.
    let until = Instant::now() + Duration::from_secs(600);
    rt.block_on(async {
        loop {
            let mut tx = store.begin().await.unwrap();
            let n = tx
                .for_community(&community)
                .pending_inbox_count()
                .await
                .unwrap();
            tx.commit().await.unwrap();
            if n == 0 {
                break;
            }
            assert!(
                Instant::now() < until,
                "{backend}: {n} events not processed"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    std::process::Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    let _ = server.0.wait();
    // Every acknowledged delivery that counts is in the inbox and processed exactly once:
    // a lost give or reversal, or one processed twice, changes a student's points away from
    // the model (the bench's own "lost delivery" test shows the check sees one). Deliveries
    // the server ignores by design (e.g. reactions that are not fire) are not stored at all,
    // so there is no per-delivery inbox check.
    let balances = rt.block_on(async {
        let mut tx = store.begin().await.unwrap();
        let b = tx.for_community(&community).balances().await.unwrap();
        tx.commit().await.unwrap();
        b
    });
    let got: std::collections::BTreeMap<String, i64> = balances
        .into_iter()
        .map(|b| (b.platform_user_id, b.earned_milli))
        .collect();
    for (user, want) in &s.expected {
        assert_eq!(got.get(user), Some(want), "{backend}: {user}");
    }
    // And replay of the processed events gives the same ledger.
    let o = run(
        d,
        &[
            "--database-url",
            db.url(),
            "ledger",
            "replay",
            "--community",
            community.as_ref(),
        ],
    );
    assert!(o.status.success(), "{backend}: {}", text(&o));
    rt.block_on(store.close());
}

fn start(d: &std::path::Path, url: &str) -> (Child, String) {
    let mut child = bin()
        .current_dir(d)
        .args([
            "--config",
            "classcred.toml",
            "--database-url",
            url,
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        if let Some(a) = line.unwrap().strip_prefix("classcred listening on ") {
            return (child, a.trim().to_string());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("serve did not start");
}

/// Send every delivery (8 at a time); whether each was acknowledged with 200.
async fn send_all(url: &str, deliveries: &[Delivery], acked: Arc<AtomicUsize>) -> Vec<bool> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let gate = Arc::new(tokio::sync::Semaphore::new(8));
    let mut tasks = Vec::new();
    for dl in deliveries.iter().cloned() {
        let http = http.clone();
        let acked = acked.clone();
        let gate = gate.clone();
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let ts = chrono::Utc::now().timestamp().to_string();
            let sig =
                classcred::bench::load::slack_signature(classcred::bench::SECRET, &ts, &dl.body)
                    .unwrap();
            let mut req = http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-slack-request-timestamp", &ts)
                .header("x-slack-signature", sig)
                .body(dl.body.clone());
            if dl.retry {
                req = req.header("x-slack-retry-num", "1");
            }
            let ok = matches!(req.send().await, Ok(r) if r.status() == 200);
            if ok {
                acked.fetch_add(1, Ordering::SeqCst);
            }
            ok
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
