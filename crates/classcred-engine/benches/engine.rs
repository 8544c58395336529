//! Criterion benchmark of the pure engine: fire units processed per second on one core, on
//! production-shaped data.
//!
//! Production shape: the service hands the engine the store's member ids, which are UUIDv7
//! strings (36 bytes, e.g. `01936f2e-6b1c-7a3d-9e4f-1a2b3c4d5e6f`; `classcred-store`'s
//! `new_id`), never the short platform user ids; messages are Slack's `"{channel}:{ts}"`
//! (`classcred-slack`'s `message_id`). A class is 300 students synced together, so their ids
//! share the millisecond-timestamp prefix, as real UUIDv7 ids created in one sync do.
//!
//! Workload: 300 students; each gives one message a day to the 5 classmates after them
//! (5 units = the whole default quota), for 10 days across two ISO weeks, so gift tax kicks
//! in from the 4th day. That is 3,000 messages and 15,000 fire units.
//! * `process` — `apply` + `InMemoryState::apply_outcome` for the whole stream on a fresh
//!   state (what `ledger replay` does).
//! * `apply_only` — `apply` alone for one 5-unit message against a state that already holds
//!   the stream (the engine's own cost per event, no state writes).
//!
//! Run: `cargo bench -p classcred-engine --bench engine -- --warm-up-time 1 --measurement-time 3`.
//! Figures and the decisions taken from them: BENCHMARKS.md.

use chrono::{DateTime, Duration, Utc};
use classcred_engine::{
    apply, CommunitySettings, Event, InMemoryState, MemberId, MemberJoined, MemberKind,
    MessagePosted, Role,
};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const STUDENTS: usize = 300;
const DAYS: i64 = 10;
const PER_MESSAGE: usize = 5;

/// splitmix64: deterministic "random" bits, so every run sees the same ids.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A UUIDv7 in its canonical 36-character text form: 48 bits of Unix milliseconds (the
/// students of one class synced within a few milliseconds), version 7, variant 0b10, and
/// random bits.
fn uuid_v7(i: usize) -> String {
    let ms: u64 = 1_740_988_800_000 + (i as u64) / 64;
    let r = mix(i as u64);
    let rand_a = r & 0x0fff;
    let rand_b = mix(r) & 0x3fff_ffff_ffff_ffff;
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        ms >> 16,
        ms & 0xffff,
        rand_a,
        0x8000 | (rand_b >> 48),
        rand_b & 0xffff_ffff_ffff
    )
}

fn ids() -> Vec<MemberId> {
    (0..STUDENTS).map(|i| MemberId::new(uuid_v7(i))).collect()
}

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_740_988_800, 0).unwrap_or_default() // 2025-03-03T08:00:00Z, a Monday
}

fn roster(settings: &CommunitySettings, ids: &[MemberId]) -> InMemoryState {
    let mut state = InMemoryState::new();
    for id in ids {
        state.process(
            settings,
            &Event::MemberJoined(MemberJoined {
                member: id.clone(),
                kind: MemberKind::Human,
                role: Role::Student,
                occurred_at: start(),
            }),
        );
    }
    state
}

/// A message as the service passes it: ids made afresh from the text the store returned
/// (each event is decoded on its own, so no id shares memory with the state's copy).
fn message(ids: &[MemberId], giver: usize, at: DateTime<Utc>) -> Event {
    let id = |i: usize| MemberId::new(ids[i % STUDENTS].as_str());
    Event::MessagePosted(MessagePosted {
        is_question: false,
        channel: None,
        platform_message_id: format!(
            "C07BENCH01:{}.{:06}",
            at.timestamp(),
            giver * 97 % 1_000_000
        ),
        author: id(giver),
        mentions: (1..=PER_MESSAGE).map(|k| id(giver + k)).collect(),
        fire_count: 1,
        text: String::new(),
        thread: None,
        occurred_at: at,
    })
}

fn stream(ids: &[MemberId]) -> Vec<Event> {
    let mut events = Vec::new();
    for day in 0..DAYS {
        for g in 0..STUDENTS {
            let at = start() + Duration::days(day) + Duration::seconds(g as i64);
            events.push(message(ids, g, at));
        }
    }
    events
}

fn bench(c: &mut Criterion) {
    let settings = CommunitySettings::default();
    let ids = ids();
    assert!(
        ids.iter().all(|m| m.as_str().len() == 36),
        "UUID-shaped ids"
    );
    let events = stream(&ids);
    let initial = roster(&settings, &ids);
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
    let next = message(&ids, 7, start() + Duration::days(DAYS));
    group.throughput(Throughput::Elements(PER_MESSAGE as u64));
    group.bench_function("apply_only", |b| {
        b.iter(|| apply(black_box(&settings), black_box(&check), black_box(&next)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
