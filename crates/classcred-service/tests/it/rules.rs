//! Custom reward rules on both backends: the preview over the stored history, saving (roles,
//! stale versions), the rule then awarding exactly what the preview showed on the same
//! history, caps counted from the ledger, enable/disable, erasure of the tables with the
//! community, and replay.

use chrono::Duration;
use classcred_engine::{Cap, CapPeriod, Condition, Event, RuleAward, Trigger};
use classcred_service::changes::ChangeError;
use classcred_service::replay;
use classcred_service::rules::{candidate, preview, rules, save_rule, RuleInput};
use classcred_store::testing::TestDb;
use classcred_store::{Clock, Role};

use crate::common::*;

fn in_channel(id: &str, author: &str, channel: &str, when: chrono::DateTime<chrono::Utc>) -> Event {
    match post(id, author, &[], 0, when) {
        Event::MessagePosted(mut m) => {
            m.channel = Some(channel.into());
            Event::MessagePosted(m)
        }
        _ => unreachable!(),
    }
}

fn lab_rule(enabled: bool) -> RuleInput {
    RuleInput {
        trigger: Trigger::Posted,
        condition: Some(Condition::Channel {
            channel: "C-lab".into(),
        }),
        award: RuleAward::Points {
            points: "1.5".parse().unwrap(),
        },
        cap: Some(Cap {
            n: 2,
            per: CapPeriod::Week,
        }),
        enabled,
    }
}

async fn rule_milli(w: &World, uid: &str) -> i64 {
    let mut tx = w.store.begin().await.unwrap();
    let scoped = &mut tx.for_community(&w.community);
    let member = scoped
        .member_ids_by_platform()
        .await
        .unwrap()
        .into_iter()
        .find(|(p, _)| p == uid)
        .map(|(_, m)| m)
        .unwrap();
    let l = scoped.ledger().await.unwrap();
    tx.commit().await.unwrap();
    l.iter()
        .filter(|e| e.entry.kind == "rule_award" && e.entry.member_id == member.to_string())
        .map(|e| e.entry.amount_milli)
        .sum()
}

#[tokio::test]
async fn preview_then_enable_awards_what_the_preview_showed_on_both_backends() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, serde_json::json!({})).await;
        let teacher = join(&w, "UT", Role::Instructor).await;
        let student = join(&w, "UA", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        let t = at(2026, 3, 2, 9, 0, 0);
        // History: UA posts 3 times in the lab channel in one week (the cap of 2 stops one),
        // UB once, the teacher once (never earns), and a post elsewhere.
        let history = [
            in_channel("1", "UA", "C-lab", t),
            in_channel("2", "UA", "C-lab", t + Duration::hours(1)),
            in_channel("3", "UA", "C-lab", t + Duration::hours(2)),
            in_channel("4", "UB", "C-lab", t + Duration::hours(3)),
            in_channel("5", "UT", "C-lab", t + Duration::hours(4)),
            in_channel("6", "UB", "C-general", t + Duration::hours(5)),
        ];
        for (i, e) in history.iter().enumerate() {
            deliver(&w, &format!("H{i}"), e).await;
        }
        settle(&w).await;

        let rule = candidate(&w.store, &w.community, None, None, &lab_rule(false))
            .await
            .unwrap();
        let report = preview(&w.store, &w.community, &rule).await.unwrap();
        let line = |name: &str| {
            report
                .members
                .iter()
                .find(|l| l.name == name)
                .map(|l| (l.points.thousandths(), l.awards, l.capped))
        };
        assert_eq!(line("Name of UA"), Some((3000, 2, 1)), "{b}: {report:?}");
        assert_eq!(line("Name of UB"), Some((1500, 1, 0)), "{b}");
        assert_eq!(line("Name of UT"), None, "{b}");
        assert_eq!(report.total_points.thousandths(), 4500, "{b}");
        assert!(report.sentence.contains("in channel C-lab"), "{b}");
        // The preview stored nothing.
        assert!(
            rules(&w.store, &w.community).await.unwrap().is_empty(),
            "{b}"
        );
        assert_eq!(rule_milli(&w, "UA").await, 0, "{b}");

        // Students cannot save rules; staff can.
        assert!(matches!(
            save_rule(&w.store, &w.community, &student, &rule, w.clock.now()).await,
            Err(ChangeError::Forbidden)
        ));
        let change = save_rule(&w.store, &w.community, &teacher, &rule, w.clock.now())
            .await
            .unwrap();
        assert!(change.applied, "{b}");

        // Enable it (version 2), then replay the same history under new message ids: the
        // rule awards exactly what the preview showed.
        let mut enabled = rule.clone();
        enabled.version = 2;
        enabled.enabled = true;
        save_rule(&w.store, &w.community, &teacher, &enabled, w.clock.now())
            .await
            .unwrap();
        // A change from the stale version 1 is refused.
        let mut stale = rule.clone();
        stale.version = 2;
        stale.cap = None;
        assert!(matches!(
            save_rule(&w.store, &w.community, &teacher, &stale, w.clock.now()).await,
            Err(ChangeError::Invalid { .. })
        ));
        let week = Duration::weeks(1);
        for (i, e) in history.iter().enumerate() {
            let Event::MessagePosted(mut m) = e.clone() else {
                unreachable!()
            };
            m.platform_message_id = format!("{}-again", m.platform_message_id);
            m.occurred_at += week;
            deliver(&w, &format!("A{i}"), &Event::MessagePosted(m)).await;
        }
        settle(&w).await;
        assert_eq!(rule_milli(&w, "UA").await, 3000, "{b}");
        assert_eq!(rule_milli(&w, "UB").await, 1500, "{b}");
        assert_eq!(rule_milli(&w, "UT").await, 0, "{b}");
        // A redelivery adds nothing, even of a post made before the rule was on.
        deliver(&w, "A0-again", &history[0]).await;
        settle(&w).await;
        assert_eq!(rule_milli(&w, "UA").await, 3000, "{b}");

        let listed = rules(&w.store, &w.community).await.unwrap();
        assert_eq!(listed.len(), 1, "{b}");
        assert_eq!(listed[0].rule.version, 2, "{b}");
        assert!(listed[0].rule.enabled, "{b}");
        assert_eq!(listed[0].awarded.thousandths(), 4500, "{b}");
        assert_eq!(listed[0].awarded_members, 2, "{b}");

        // Disabled: nothing more.
        let mut off = enabled.clone();
        off.version = 3;
        off.enabled = false;
        save_rule(&w.store, &w.community, &teacher, &off, w.clock.now())
            .await
            .unwrap();
        deliver(
            &w,
            "X1",
            &in_channel("x1", "UB", "C-lab", t + Duration::weeks(3)),
        )
        .await;
        settle(&w).await;
        assert_eq!(rule_milli(&w, "UB").await, 1500, "{b}");

        // Replay reproduces the rule (version 3) and every award.
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);

        // The rule tables go with the community.
        w.store
            .erase_community(&w.community, &mut |_, _| {})
            .await
            .unwrap();
        for table in ["reward_rule", "reward_rule_version"] {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM {table} WHERE community_id = $1"
            ))
            .bind(w.community.as_str())
            .fetch_one(w.store.pool())
            .await
            .unwrap();
            assert_eq!(n, 0, "{b}: {table}");
        }
    }
}

/// The preview's cost on a large course (BENCHMARKS.md, "Custom reward rules: preview"): 300
/// students and 100,000 processed events (posts in four channels, half of them giving fire to
/// one or two classmates, and 🔥 reactions). The events are stored as processed inbox rows
/// without running the engine on them first (the preview reads only the processed inbox and
/// the member list). Prints the time; run by hand:
/// `cargo test --release -p classcred-service --test it preview_scale -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement (about a minute of set-up), not a check"]
async fn preview_scale_300_students_100k_events() {
    const STUDENTS: usize = 300;
    const EVENTS: usize = 100_000;
    for db in TestDb::all().await {
        let w = world(&db, serde_json::json!({})).await;
        let uid = |i: usize| format!("U{i:04}");
        for i in 0..STUDENTS {
            join(&w, &uid(i), Role::Student).await;
        }
        let start = at(2026, 1, 5, 8, 0, 0);
        let setup = std::time::Instant::now();
        let mut tx = w.store.begin().await.unwrap();
        let mut seq = 1_000;
        let mut posts = 0usize;
        for i in 0..EVENTS {
            let when = start + Duration::seconds(i64::try_from(i).unwrap() * 60);
            let author = uid((i * 7919) % STUDENTS);
            let event = if i % 5 == 4 && posts > 0 {
                Event::ReactionAdded(reaction(
                    &format!("{}", (i * 31) % posts),
                    &uid((i * 13) % STUDENTS),
                    &uid(((i * 31) % posts * 7919) % STUDENTS),
                    when,
                ))
            } else {
                let mentions: Vec<String> = (0..(i % 3))
                    .map(|k| uid((i * 104_729 + k * 17 + 1) % STUDENTS))
                    .filter(|m| *m != author)
                    .collect();
                let refs: Vec<&str> = mentions.iter().map(String::as_str).collect();
                let fires = u32::from(!refs.is_empty());
                let Event::MessagePosted(mut m) =
                    post(&format!("{posts}"), &author, &refs, fires, when)
                else {
                    unreachable!()
                };
                m.channel = Some(format!("C{}", i % 4));
                posts += 1;
                Event::MessagePosted(m)
            };
            let stored =
                classcred_service::ingest(&mut tx, &w.community, "slack", &format!("E{i}"), &event)
                    .await
                    .unwrap();
            let classcred_store::InboxInsert::Stored(id) = stored else {
                unreachable!()
            };
            seq += 1;
            tx.for_community(&w.community)
                .mark_inbox_processed_at_seq(&id, seq)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let setup = setup.elapsed();
        let rule = candidate(
            &w.store,
            &w.community,
            None,
            None,
            &RuleInput {
                trigger: Trigger::Posted,
                condition: Some(Condition::Channel {
                    channel: "C0".into(),
                }),
                award: RuleAward::Points {
                    points: "1".parse().unwrap(),
                },
                cap: Some(Cap {
                    n: 3,
                    per: CapPeriod::Week,
                }),
                enabled: true,
            },
        )
        .await
        .unwrap();
        let mut times = Vec::new();
        let mut report = None;
        for _ in 0..3 {
            let t0 = std::time::Instant::now();
            report = Some(preview(&w.store, &w.community, &rule).await.unwrap());
            times.push(t0.elapsed().as_secs_f64());
        }
        let report = report.unwrap();
        assert!(report.events >= EVENTS);
        println!(
            "{}: set-up {:.1} s; preview of {} events, {} members rewarded, {} points: {:?} s",
            db.backend(),
            setup.as_secs_f64(),
            report.events,
            report.members.len(),
            report.total_points,
            times
        );
    }
}
