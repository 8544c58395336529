//! Issue 13, batched processing: a batch remembers engine answers, the settings and the
//! members across its rows, and forgets what each row's outcome changed. Every row must still
//! see what it would see if it were processed alone.

use crate::common;
use crate::service::settings;

use chrono::{DateTime, Duration, Utc};
use classcred_engine::{
    CommunitySettings, Event, MemberId, MessageDeleted, MessageEdited, Points, PurchaseRequested,
    Role as EngineRole, RoleChanged, SettingsChanged,
};
use classcred_service::store::{save_item, ItemInput};
use classcred_service::{drain_one_batch, member_summary, process_next, replay, Fault};
use classcred_store::testing::TestDb;
use classcred_store::Role;
use common::*;

const MEMBERS: [&str; 15] = [
    "UADM", "UA", "UB", "UC", "UD", "U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9", "U10",
];

/// A stream in which later rows depend on what earlier rows changed, in every kind of answer
/// the batch remembers: quota and gift tax (ledger), a message edited twice and one deleted
/// (messages, reactions), a reaction taken back, a member made Instructor (member), the daily
/// quota lowered (settings), levels and badges reached (their notices and feed items).
fn stream(t: DateTime<Utc>, item: &str) -> Vec<Event> {
    let m = |s: &str| MemberId::new(s);
    let mut lowered: CommunitySettings =
        CommunitySettings::from_json(&settings().to_string()).unwrap();
    lowered.daily_quota = 1;
    let min = |n: i64| t + Duration::minutes(n);
    let edit = |to: &[&str], n: i64| {
        Event::MessageEdited(MessageEdited {
            platform_message_id: "C1:b2".into(),
            author: m("UA"),
            mentions: to.iter().map(|s| m(s)).collect(),
            fire_count: 1,
            text: "thanks :fire:".into(),
            occurred_at: min(n),
        })
    };
    let mut v = vec![
        post("b1", "UA", &["UB"], 2, min(1)),
        post("b2", "UA", &["UB", "UC"], 1, min(2)),
        // Quota 5: 4 used, so only one of these two units is given.
        post("b3", "UA", &["UD"], 2, min(3)),
        Event::ReactionAdded(reaction("b1", "UB", "UA", min(4))),
        Event::ReactionRemoved(reaction("b1", "UB", "UA", min(5))),
        Event::ReactionAdded(reaction("b1", "UB", "UA", min(6))),
        Event::ReactionAdded(reaction("b3", "UD", "UA", min(6))),
        Event::ReactionRemoved(reaction("b3", "UD", "UA", min(7))),
        // UC's fire taken back.
        edit(&["UB"], 7),
    ];
    // UB gives UA 5 a day, Tuesday to Friday: the 16th fire onwards is taxed.
    for d in 1..5 {
        v.push(post(
            &format!("t{d}"),
            "UB",
            &["UA"],
            5,
            t + Duration::days(d),
        ));
    }
    v.extend([
        Event::RoleChanged(RoleChanged {
            member: m("UC"),
            role: EngineRole::Instructor,
            by: Some(m("UADM")),
            occurred_at: min(8),
        }),
        // An Instructor gives without limit.
        post("b4", "UC", &["UD"], 3, min(9)),
        post("b5", "UC", &["UD"], 3, min(10)),
        Event::SettingsChanged(SettingsChanged {
            settings: lowered,
            by: m("UADM"),
            occurred_at: min(11),
        }),
        // Quota now 1.
        post("b6", "UD", &["UA"], 3, min(12)),
        post("b7", "UD", &["UB"], 1, min(13)),
        Event::MessageDeleted(MessageDeleted {
            platform_message_id: "C1:b1".into(),
            occurred_at: min(15),
        }),
    ]);
    // UD spends what it earned in this batch: the price is more than it had before.
    v.push(Event::PurchaseRequested(PurchaseRequested {
        purchase_id: format!("purchase-of-{item}"),
        member: m("UD"),
        item_id: item.into(),
        occurred_at: min(17),
    }));
    // Ten classmates recognise UD, and UB recognises ten: "recognised by ten" and "gave to
    // ten" are reached at the tenth distinct person.
    for (i, s) in MEMBERS[5..].iter().enumerate() {
        let at = t + Duration::days(5) + Duration::minutes(i as i64);
        v.push(post(&format!("r{i}"), s, &["UD"], 1, at));
    }
    for (i, s) in MEMBERS[5..].iter().enumerate() {
        // One a day: the daily quota is 1 now.
        let at = t + Duration::days(6 + i as i64);
        v.push(post(&format!("g{i}"), "UB", &[s], 1, at));
    }
    // Later: UB's points pass level thresholds and earn badges, one row at a time.
    for d in 17..20 {
        for (i, giver) in ["UA", "UC", "UD"].iter().enumerate() {
            let id = format!("d{d}.{i}");
            v.push(post(
                &id,
                giver,
                &["UB"],
                1,
                t + Duration::days(d) + Duration::minutes(i as i64),
            ));
        }
    }
    v
}

/// Notices queued and feed items written for a community (a level or badge announced twice
/// shows here).
async fn said(w: &World) -> (i64, i64) {
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(w.community.as_str())
            .fetch_one(w.store.pool())
            .await
            .unwrap()
    };
    (
        count("SELECT CAST(COUNT(*) AS BIGINT) FROM job WHERE community_id = $1 AND kind = 'notice.deliver'").await,
        count("SELECT CAST(COUNT(*) AS BIGINT) FROM feed_item WHERE community_id = $1").await,
    )
}

#[tokio::test]
async fn a_batch_remembers_only_what_no_row_changed() {
    for db in TestDb::all().await {
        let b = db.backend();
        let batched = world(&db, settings()).await;
        // The same stream in a second community of the same database, processed one row per
        // transaction (nothing remembered).
        let alone = World {
            store: batched.store.clone(),
            clock: batched.clock.clone(),
            community: community(&batched.store, settings(), "T2").await,
            key_text: batched.key_text.clone(),
        };
        for w in [&batched, &alone] {
            join(w, "UADM", Role::Admin).await;
            for s in &MEMBERS[1..] {
                join(w, s, Role::Student).await;
            }
        }
        settle(&batched).await;
        while process_next(&alone.store, &alone.community, Fault::None)
            .await
            .unwrap()
            .is_some()
        {}
        let mut items = Vec::new();
        for w in [&batched, &alone] {
            let admin = member_summary(&w.store, &w.community, "UADM")
                .await
                .unwrap()
                .unwrap()
                .member_id;
            let (item, _) = save_item(
                &w.store,
                &w.community,
                &admin,
                None,
                ItemInput {
                    name: "Pen".into(),
                    description: String::new(),
                    price: Points::from_whole(5),
                    stock: None,
                    per_student_limit: None,
                    available_from: None,
                    available_until: None,
                    needs_approval: false,
                    enabled: true,
                    archived: false,
                },
                at(2026, 3, 1, 9, 0, 0),
            )
            .await
            .unwrap();
            items.push(item);
        }
        let t = at(2026, 3, 2, 9, 0, 0);
        let events = stream(t, &items[0]);
        for (i, (e, f)) in events.iter().zip(stream(t, &items[1])).enumerate() {
            assert!(deliver(&batched, &format!("A{i}"), e).await);
            assert!(deliver(&alone, &format!("B{i}"), &f).await);
        }
        // One batch, however long it takes (a drain's batch also stops after 250 ms).
        assert_eq!(
            drain_one_batch(&batched.store, &batched.community, 500)
                .await
                .unwrap(),
            events.len(),
            "{b}"
        );
        let mut n = 0;
        while process_next(&alone.store, &alone.community, Fault::None)
            .await
            .unwrap()
            .is_some()
        {
            n += 1;
        }
        assert_eq!(n, events.len(), "{b}");
        for s in MEMBERS {
            let x = member_summary(&batched.store, &batched.community, s)
                .await
                .unwrap()
                .unwrap();
            let y = member_summary(&alone.store, &alone.community, s)
                .await
                .unwrap()
                .unwrap();
            let view = |m: &classcred_service::MemberSummary| {
                (m.role, m.earned, m.spendable, m.level, m.badges.clone())
            };
            assert_eq!(view(&x), view(&y), "{b}: {s}");
        }
        // The stream did what it was written to do (so a stale answer would show).
        assert_eq!(
            said(&batched).await,
            said(&alone).await,
            "{b}: notices, feed"
        );
        assert_eq!(
            earned(&batched, "UC").await,
            0,
            "{b}: the edit took UC's fire back"
        );
        // UB to UA: 20 fire in the week, the 16th to 20th taxed at 50 %.
        assert!(earned(&batched, "UA").await < 20_000 + 3_000, "{b}: taxed");
        let ub = member_summary(&batched.store, &batched.community, "UB")
            .await
            .unwrap()
            .unwrap();
        assert!(ub.level > 0 && !ub.badges.is_empty(), "{b}: {ub:?}");
        let ud = member_summary(&batched.store, &batched.community, "UD")
            .await
            .unwrap()
            .unwrap();
        let has = |m: &classcred_service::MemberSummary, badge: &str| {
            m.badges.iter().any(|(id, _)| id == badge)
        };
        assert!(
            has(&ud, "recognised_by_10") && has(&ub, "gave_to_10"),
            "{b}: {ud:?} {ub:?}"
        );
        assert!(ud.spendable < ud.earned, "{b}: UD bought the pen: {ud:?}");
        for w in [&batched, &alone] {
            let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
            assert!(report.matches(), "{b}: {:?}", report.differences);
        }
        batched.store.close().await;
    }
}
