//! `classcred bench` at CI size: the correctness check over a concurrent, signed class stream,
//! on SQLite and PostgreSQL. No timing is asserted.

use classcred::bench::{self, BenchArgs, Stream};
use classcred_store::testing::{postgres_url, POSTGRES_ENV, REQUIRE_POSTGRES_ENV};

fn small() -> BenchArgs {
    BenchArgs {
        students: 40,
        messages: 1500,
        redeliveries: 5,
        connections: 16,
        rate: None,
        seed: 7,
        no_ceiling: false,
        drain_timeout: 300,
        mode: bench::BenchMode::Ingest,
        events: vec![5000],
        communities: vec![1],
        ledger_entries: 0,
        samples: 10,
    }
}

fn databases() -> Vec<Option<String>> {
    let mut out = vec![None];
    let pg = postgres_url(
        std::env::var(POSTGRES_ENV).ok(),
        std::env::var(REQUIRE_POSTGRES_ENV).ok(),
    )
    .unwrap();
    if let Some(url) = pg {
        out.push(Some(url));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_stream_ends_in_exactly_the_models_balances() {
    for db in databases() {
        let report = bench::run(db, &small(), &mut |l| println!("{l}"))
            .await
            .unwrap();
        assert!(
            report.events > 2000,
            "{}: {} events",
            report.backend,
            report.events
        );
        assert!(
            report.correct(),
            "{}: {:?} replay {}",
            report.backend,
            report.mismatches,
            report.replay_matches
        );
        assert!(
            report.drained > 1800,
            "{}: drained {}",
            report.backend,
            report.drained
        );
    }
}

/// The check is not vacuous: a delivery the server never gets (the model still counts it)
/// makes the bench report a wrong result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_delivery_fails_the_check() {
    let args = BenchArgs {
        messages: 200,
        no_ceiling: true,
        ..small()
    };
    let lose = |s: &mut Stream| {
        let i = s
            .gives
            .iter()
            .position(|d| String::from_utf8_lossy(&d.body).contains(":fire:"))
            .unwrap();
        let id = s.gives[i].event_id.clone();
        s.gives.retain(|d| d.event_id != id);
    };
    let report = bench::run_with(None, &args, &mut |l| println!("{l}"), &lose)
        .await
        .unwrap();
    assert!(!report.correct());
    assert!(!report.mismatches.is_empty());
}
