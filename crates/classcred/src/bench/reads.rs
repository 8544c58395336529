//! The bench's `reads` mode (issue 13): `/cred me` (`member_summary`) and the leaderboards of
//! a class of `--students` with `--ledger-entries` ledger entries seeded through the store's
//! bulk insert (which keeps the aggregates in step): server time p50/p99/max. Leaderboards are
//! timed twice: unchanged between reads (served from the process's kept boards after the
//! first) and right after a ledger write each time (the version changed: read from the
//! aggregates). Checks that the aggregate boards equal the ledger's sums.

use std::time::Instant;

use anyhow::bail;
use chrono::Utc;
use classcred_crypto::MasterKey;
use classcred_service::{leaderboard, member_summary, Period};
use classcred_store::{NewLedgerEntry, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::scale::{community, hist, open, platform_user, quantiles};
use super::{BenchArgs, BenchDb};

/// `--mode reads`: `/cred me` and the leaderboards at `--students` and `--ledger-entries`.
pub async fn reads_mode(
    url: Option<String>,
    args: &BenchArgs,
    out: &mut dyn FnMut(String),
) -> anyhow::Result<()> {
    let db = BenchDb::create(url).await?;
    let backend = db.backend();
    let store = open(&db.url, MasterKey::generate()).await?;
    let r = reads(&store, backend, args, out).await;
    store.close().await;
    db.drop_database().await;
    r
}

async fn reads(
    store: &Store,
    backend: &str,
    args: &BenchArgs,
    out: &mut dyn FnMut(String),
) -> anyhow::Result<()> {
    let students = args.students.max(3);
    let c = community(store, 0, students).await?;
    let mut tx = store.begin().await?;
    let ids: Vec<String> = tx
        .for_community(&c)
        .member_ids_by_platform()
        .await?
        .into_iter()
        .map(|(_, m)| m.to_string())
        .collect();
    tx.commit().await?;
    // Seed: awards between random students over the last 16 weeks up to now, through the
    // store's multi-row insert (which updates the aggregates in the same transaction).
    let mut rng = StdRng::seed_from_u64(args.seed);
    let now = Utc::now();
    let span_ms = 16 * 7 * 86_400_000_i64;
    let t = Instant::now();
    let total = args.ledger_entries;
    let mut k = 0usize;
    while k < total {
        let mut tx = store.begin().await?;
        let mut s = tx.for_community(&c);
        let n = (total - k).min(10_000);
        let batch: Vec<NewLedgerEntry> = (k..k + n)
            .map(|i| seed_entry(&mut rng, &ids, i, now, span_ms))
            .collect();
        s.insert_ledger_entries(&batch).await?;
        tx.commit().await?;
        k += n;
    }
    out(format!(
        "{backend}: {students} students, {total} ledger entries seeded in {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    // Check first: the aggregate boards equal the ledger's sums.
    let mut tx = store.begin().await?;
    let from_ledger = tx
        .for_community(&c)
        .student_earned_totals(None, None)
        .await?;
    tx.commit().await?;
    let board = leaderboard(store, &c, Period::Course).await?;
    let mut got: Vec<(String, i64)> = board
        .rows
        .iter()
        .map(|r| (r.member.to_string(), r.points.thousandths()))
        .collect();
    got.sort();
    let mut want: Vec<(String, i64)> = from_ledger
        .into_iter()
        .map(|(m, p)| (m.to_string(), p))
        .collect();
    want.sort();
    if got != want {
        bail!("WRONG RESULT: the course leaderboard differs from the ledger's sums");
    }
    let samples = args.samples.max(1);
    let users: Vec<String> = (0..students).map(|i| platform_user(0, i)).collect();
    // Warm-up (connections, caches), not measured.
    for u in users.iter().take(20) {
        member_summary(store, &c, u).await?;
    }
    let mut me = hist()?;
    for i in 0..samples {
        let u = &users[rng.gen_range(0..users.len())];
        let t = Instant::now();
        let s = member_summary(store, &c, u).await?;
        me.record(t.elapsed().as_micros().max(1) as u64)?;
        if s.is_none() || i == usize::MAX {
            bail!("WRONG RESULT: {u} has no summary");
        }
    }
    out(format!(
        "{backend} /cred me (member_summary): {}",
        quantiles(&me)
    ));
    for (name, period) in [
        ("week", Period::Week),
        ("month", Period::Month),
        ("course", Period::Course),
    ] {
        let mut h = hist()?;
        let mut rows = 0;
        for _ in 0..samples {
            let t = Instant::now();
            let b = leaderboard(store, &c, period).await?;
            h.record(t.elapsed().as_micros().max(1) as u64)?;
            rows = b.rows.len();
        }
        out(format!(
            "{backend} leaderboard ({name}, {rows} students): {}",
            quantiles(&h)
        ));
    }
    // Each read right after a committed ledger write (one award, not timed): the kept board's
    // version changed, so the board is read from the aggregates again.
    let mut i = total;
    for (name, period) in [
        ("week", Period::Week),
        ("month", Period::Month),
        ("course", Period::Course),
    ] {
        let mut h = hist()?;
        let mut rows = 0;
        for _ in 0..samples {
            let mut tx = store.begin().await?;
            let e = seed_entry(&mut rng, &ids, i, now, 0);
            tx.for_community(&c).insert_ledger_entries(&[e]).await?;
            tx.commit().await?;
            i += 1;
            let t = Instant::now();
            let b = leaderboard(store, &c, period).await?;
            h.record(t.elapsed().as_micros().max(1) as u64)?;
            rows = b.rows.len();
        }
        out(format!(
            "{backend} leaderboard after a write ({name}, {rows} students): {}",
            quantiles(&h)
        ));
    }
    Ok(())
}

/// Seed entry `i`: an award (every 50th a tax) between two random students, `span_ms` or
/// less before `now`.
fn seed_entry(
    rng: &mut StdRng,
    ids: &[String],
    i: usize,
    now: chrono::DateTime<Utc>,
    span_ms: i64,
) -> NewLedgerEntry {
    let at = now - chrono::Duration::milliseconds(rng.gen_range(0..span_ms.max(1)));
    let r = rng.gen_range(0..ids.len());
    let mut g = rng.gen_range(0..ids.len());
    if g == r {
        g = (g + 1) % ids.len();
    }
    NewLedgerEntry {
        member_id: ids[r].clone(),
        kind: if i % 50 == 49 { "tax" } else { "award" }.into(),
        amount_milli: if i % 50 == 49 { -300 } else { 1000 },
        idempotency_key: format!("seed:{i}"),
        giver_member_id: Some(ids[g].clone()),
        giver_role: Some("student".into()),
        source_ref: Some(format!("C0BENCH:{i}")),
        quota_day: Some(at.format("%Y-%m-%d").to_string()),
        iso_week: Some(at.format("%G-W%V").to_string()),
        quota_units: 1,
        fire_units: 1,
        note: None,
        occurred_at: at.timestamp_millis(),
    }
}
