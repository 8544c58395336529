//! Criterion benchmark of the pure engine: fire units processed per second on one core.
//!
//! Workload: 200 students; each gives one message a day to the 5 classmates after them
//! (5 units = the whole default quota), for 10 days across two ISO weeks, so gift tax kicks
//! in from the 4th day. That is 2,000 messages and 10,000 fire units.
//! * `process` — `apply` + `InMemoryState::apply_outcome` for the whole stream on a fresh
//!   state (what a replay does).
//! * `apply_only` — `apply` alone for one 5-unit message against a state that already holds
//!   the stream (the engine's own cost per event, no state writes).
//!
//! Run: `cargo bench -p classcred-engine --bench engine` (about 40 s after the build).
//!
//! Measured on the 2-core dev VM (firecracker, toolchain 1.95, release profile), criterion with
//! `--warm-up-time 2 --measurement-time 5`, the old and new builds run alternately (the VM's
//! speed varies by up to 2× from minute to minute, so single runs mislead):
//! * before (commit a32ef74): `apply_only` median of 8 runs 5.5 µs per 5-unit message
//!   (4.5–7.0 µs) ≈ 0.9 M fire units/s per core; `process` median of 5 runs 27 ms
//!   (24–32 ms) ≈ 0.37 M units/s.
//! * after: `apply_only` median of 8 runs 3.9 µs (2.3–4.7 µs) ≈ 1.3 M units/s per core
//!   (1.07–2.1 M); against the old build run right before it, 1.1–2.3× faster, typically
//!   1.6×. `process` median of 5 runs 16.7 ms (15.7–21 ms) ≈ 0.6 M units/s.
//!
//! What made the difference: one shared buffer for all idempotency keys of a give (one
//! allocation per event instead of one formatted `String` per unit); member ids stored inline
//! and word-aligned (a clone is a copy, not an atomic reference count; compares are three word
//! compares); a per-event member cache; `InMemoryState` lookups without building owned keys
//! (no `String` for reaction lookups) and a word-at-a-time hasher for its lookup-only maps;
//! pre-sized outcome vectors. The rest of the profile is spread over state lookups, the
//! remaining ~20 allocations per event (records, feed items, standing units) and the atomic
//! reference counts of the shared message id and key buffer.

#![allow(missing_docs, reason = "criterion macros generate undocumented items")]

use chrono::{DateTime, Duration, Utc};
use classcred_engine::{
    apply, CommunitySettings, Event, InMemoryState, MemberId, MemberJoined, MemberKind,
    MessagePosted, Role,
};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const STUDENTS: usize = 200;
const DAYS: i64 = 10;
const PER_MESSAGE: usize = 5;

fn student(i: usize) -> MemberId {
    MemberId::new(format!("U{:05}", i % STUDENTS))
}

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_740_988_800, 0).unwrap_or_default() // 2025-03-03T08:00:00Z, a Monday
}

fn roster(settings: &CommunitySettings) -> InMemoryState {
    let mut state = InMemoryState::new();
    for i in 0..STUDENTS {
        state.process(
            settings,
            &Event::MemberJoined(MemberJoined {
                member: student(i),
                kind: MemberKind::Human,
                role: Role::Student,
                occurred_at: start(),
            }),
        );
    }
    state
}

fn message(n: usize, giver: usize, at: DateTime<Utc>) -> Event {
    Event::MessagePosted(MessagePosted {
        platform_message_id: format!("C0BENCH:{n}"),
        author: student(giver),
        mentions: (1..=PER_MESSAGE).map(|k| student(giver + k)).collect(),
        fire_count: 1,
        text: String::new(),
        thread: None,
        occurred_at: at,
    })
}

fn stream() -> Vec<Event> {
    let mut events = Vec::new();
    for day in 0..DAYS {
        for g in 0..STUDENTS {
            let at = start() + Duration::days(day) + Duration::seconds(g as i64);
            events.push(message(events.len(), g, at));
        }
    }
    events
}

fn bench(c: &mut Criterion) {
    let settings = CommunitySettings::default();
    let events = stream();
    let initial = roster(&settings);
    let units = (events.len() * PER_MESSAGE) as u64;

    let mut check = initial.clone();
    for e in &events {
        check.process(&settings, e);
    }
    let awards = check
        .ledger()
        .iter()
        .filter(|e| e.kind == classcred_engine::EntryKind::Award)
        .count() as u64;
    assert_eq!(awards, units, "every unit in the workload is awarded");

    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(5));
    group.throughput(Throughput::Elements(units));
    group.bench_function("process", |b| {
        b.iter_batched(
            || initial.clone(),
            |mut state| {
                for e in &events {
                    state.process(&settings, e);
                }
                state
            },
            BatchSize::LargeInput,
        )
    });

    // One more message from a giver with quota left, against the full state.
    let next = message(usize::MAX / 2, 7, start() + Duration::days(DAYS));
    group.throughput(Throughput::Elements(PER_MESSAGE as u64));
    group.bench_function("apply_only", |b| {
        b.iter(|| apply(black_box(&settings), black_box(&check), black_box(&next)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
