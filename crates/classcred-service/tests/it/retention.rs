//! Retention schedules with a moved clock, on SQLite and PostgreSQL: the preview lists what a
//! run at that instant removes, and the run removes exactly that.

use std::sync::Mutex;

use crate::common::*;

use classcred_engine::{Points, PurchaseStatus};
use classcred_service::retention::{
    self, preview, run_all, run_community, set_policy, Changer, RetentionActions, RetentionError,
    StoreActions,
};
use classcred_service::store::{buy, save_item, ItemInput};
use classcred_store::testing::TestDb;
use classcred_store::{Clock, CommunityId, MemberRowId, RetentionValues, Role, Store};
use serde_json::json;

/// What the rules asked of the erasure and key-store side.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Scrub(CommunityId, i64),
    EraseMember(CommunityId, MemberRowId),
    EraseCommunity(CommunityId),
}

/// Records every call; the scrub answers with the number of rows it was handed.
#[derive(Default)]
struct Recorder(Mutex<Vec<Call>>);

impl Recorder {
    fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().clone()
    }
}

impl RetentionActions for Recorder {
    async fn scrub_processed_inbox(
        &self,
        store: &Store,
        community: &CommunityId,
        before_ms: i64,
    ) -> Result<u64, RetentionError> {
        self.0
            .lock()
            .unwrap()
            .push(Call::Scrub(community.clone(), before_ms));
        let mut tx = store.begin().await?;
        let n = tx
            .for_community(community)
            .count_processed_inbox_before(before_ms)
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn erase_member(
        &self,
        _store: &Store,
        community: &CommunityId,
        member: &MemberRowId,
    ) -> Result<(), RetentionError> {
        self.0
            .lock()
            .unwrap()
            .push(Call::EraseMember(community.clone(), member.clone()));
        Ok(())
    }

    async fn erase_community(
        &self,
        _store: &Store,
        community: &CommunityId,
    ) -> Result<(), RetentionError> {
        self.0
            .lock()
            .unwrap()
            .push(Call::EraseCommunity(community.clone()));
        Ok(())
    }
}

/// Whether the stored message (by platform id) still holds text.
async fn has_text(w: &World, platform_message_id: &str) -> bool {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM message WHERE community_id = $1 AND platform_message_id = $2 \
         AND text_enc IS NOT NULL",
    )
    .bind(w.community.as_str())
    .bind(platform_message_id)
    .fetch_one(w.store.pool())
    .await
    .unwrap();
    n == 1
}

async fn reasons_left(w: &World) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM store_purchase WHERE community_id = $1 AND reason_enc IS NOT NULL",
    )
    .bind(w.community.as_str())
    .fetch_one(w.store.pool())
    .await
    .unwrap()
}

/// B asks to buy the 1,000-point item at `now`: refused, with the rules' reason sealed.
async fn refused_purchase(w: &World, b: &MemberRowId, now: chrono::DateTime<chrono::Utc>) {
    let bought = buy(&w.store, &w.community, b, "1", now).await.unwrap();
    settle(w).await;
    assert!(
        matches!(bought.status, None | Some(PurchaseStatus::Refused)),
        "{bought:?}"
    );
}

async fn notes_left(w: &World) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM ledger_entry WHERE community_id = $1 AND note_enc IS NOT NULL",
    )
    .bind(w.community.as_str())
    .fetch_one(w.store.pool())
    .await
    .unwrap()
}

fn values(inbox: i64, text: i64, inactive: i64, disabled: i64) -> RetentionValues {
    RetentionValues {
        inbox_days: inbox,
        text_days_after_course_end: text,
        inactive_member_days: inactive,
        disabled_community_days: disabled,
    }
}

#[tokio::test]
async fn the_run_removes_exactly_what_the_preview_listed() {
    for db in TestDb::all().await {
        let w = world(
            &db,
            json!({ "timezone": "UTC", "course_end": "2026-03-31" }),
        )
        .await;
        w.clock.set(at(2026, 1, 5, 12, 0, 0));
        let teacher = join(&w, "UT", Role::Instructor).await;
        let _a = join(&w, "UA", Role::Student).await;
        let b = join(&w, "UB", Role::Student).await;
        let c = join(&w, "UC", Role::Student).await; // never does anything
        let _d = join(&w, "UD", Role::Student).await; // posts the day before the run
        let e = join(&w, "UE", Role::Student).await; // signs in the day before the run
        set_policy(
            &w.store,
            &w.community,
            &values(30, 10, 60, 30),
            &Changer::Member(teacher.clone()),
        )
        .await
        .unwrap();

        // 2 March: A thanks B (a note is written on the entry, as an adjustment reason would).
        w.clock.set(at(2026, 3, 2, 12, 0, 0));
        deliver(
            &w,
            "E1",
            &post("1", "UA", &["UB"], 1, at(2026, 3, 2, 10, 0, 0)),
        )
        .await;
        settle(&w).await;
        sqlx::query("UPDATE ledger_entry SET note_enc = $1 WHERE community_id = $2")
            .bind(vec![1u8, 2, 3])
            .bind(w.community.as_str())
            .execute(w.store.pool())
            .await
            .unwrap();
        assert!(notes_left(&w).await > 0);
        // B cannot afford the store's 1,000-point item: a refused purchase, its reason sealed.
        let item = ItemInput {
            name: "Extra office hour".into(),
            description: String::new(),
            price: Points::from_whole(1000),
            stock: None,
            per_student_limit: None,
            available_from: None,
            available_until: None,
            needs_approval: false,
            enabled: true,
            archived: false,
        };
        save_item(&w.store, &w.community, &teacher, None, item, w.clock.now())
            .await
            .unwrap();
        refused_purchase(&w, &b, w.clock.now()).await;
        assert_eq!(reasons_left(&w).await, 1, "{}", db.backend());
        // 20 March (processed 25 March): the teacher thanks A.
        w.clock.set(at(2026, 3, 25, 12, 0, 0));
        deliver(
            &w,
            "E2",
            &post("2", "UT", &["UA"], 1, at(2026, 3, 20, 9, 0, 0)),
        )
        .await;
        settle(&w).await;
        // After the course: B on 15 April, D on 19 April (no fire counts any more).
        w.clock.set(at(2026, 4, 19, 12, 0, 0));
        deliver(
            &w,
            "E3",
            &post("3", "UB", &["UA"], 1, at(2026, 4, 15, 9, 0, 0)),
        )
        .await;
        deliver(&w, "E4", &post("4", "UD", &[], 0, at(2026, 4, 19, 9, 0, 0))).await;
        settle(&w).await;
        refused_purchase(&w, &b, w.clock.now()).await;
        assert_eq!(reasons_left(&w).await, 2, "{}", db.backend());
        let mut tx = w.store.begin().await.unwrap();
        tx.for_community(&w.community)
            .create_web_session(
                &"ab".repeat(32),
                &e,
                at(2026, 4, 20, 12, 0, 0).timestamp_millis(),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // Before the text rule starts (11 April = end of 31 March + 10 days), nothing of it goes.
        w.clock.set(at(2026, 4, 5, 0, 0, 0));
        let early = preview(&w.store, &w.community, w.clock.now())
            .await
            .unwrap();
        assert_eq!(early.text.cut_ms, None, "{}", db.backend());
        assert_eq!(
            early.text.starts_ms,
            Some(at(2026, 4, 11, 0, 0, 0).timestamp_millis())
        );

        // The preview, made now for 20 April…
        w.clock.set(at(2026, 4, 19, 13, 0, 0));
        let run_at = at(2026, 4, 20, 12, 0, 0);
        let plan = preview(&w.store, &w.community, run_at).await.unwrap();
        assert_eq!(plan.policy, values(30, 10, 60, 30));
        // Inbox: everything processed before 21 March, i.e. all but the rows of 25 March on.
        assert_eq!(
            plan.inbox.cut_ms,
            at(2026, 3, 21, 12, 0, 0).timestamp_millis()
        );
        assert!(plan.inbox.payloads >= 1, "{}", db.backend());
        assert_eq!(
            plan.inbox.next_ms,
            Some(at(2026, 4, 24, 12, 0, 0).timestamp_millis())
        );
        // Text: messages 1 and 2 (before 10 April, noon), and the note on message 1's entry.
        assert_eq!(
            plan.text.cut_ms,
            Some(at(2026, 4, 10, 12, 0, 0).timestamp_millis())
        );
        assert_eq!(plan.text.counts.messages, 2);
        // Notes count the ledger notes and the purchase reason of 2 March (not 19 April's).
        assert_eq!(
            plan.text.counts.notes,
            u64::try_from(notes_left(&w).await + 1).unwrap()
        );
        // Inactive since 19 February: only C (D posted, E signed in, the day before).
        assert_eq!(plan.inactive.members, vec![c.clone()]);
        assert!(!plan.community.due);
        // …and nothing changed yet.
        assert!(has_text(&w, "C1:1").await);

        // The run at that instant does exactly that.
        w.clock.set(run_at);
        let rec = Recorder::default();
        let report = run_community(&w.store, &rec, &w.community).await.unwrap();
        assert_eq!(report.text, plan.text.counts);
        assert_eq!(report.inbox_payloads, plan.inbox.payloads);
        assert_eq!(report.members_erased, plan.inactive.members);
        assert!(!report.community_erased);
        assert_eq!(
            rec.calls(),
            vec![
                Call::Scrub(w.community.clone(), plan.inbox.cut_ms),
                Call::EraseMember(w.community.clone(), c.clone()),
            ]
        );
        assert!(!has_text(&w, "C1:1").await);
        assert!(!has_text(&w, "C1:2").await);
        assert!(has_text(&w, "C1:3").await);
        assert!(has_text(&w, "C1:4").await);
        assert_eq!(notes_left(&w).await, 0);
        assert_eq!(reasons_left(&w).await, 1, "{}", db.backend());
        // The ledger is untouched: balances still match a replay.
        let replay = classcred_service::replay(&w.store, &w.community, |_, _| {})
            .await
            .unwrap();
        assert!(replay.matches(), "{}: {replay:?}", db.backend());

        // A second run the same day finds no text left.
        let again = preview(&w.store, &w.community, run_at).await.unwrap();
        assert_eq!(again.text.counts.messages + again.text.counts.notes, 0);

        // The run is audited with counts and ids only.
        let audit = w.store.audit_entries(Some(&w.community)).await.unwrap();
        let run = audit
            .iter()
            .rev()
            .find(|a| a.action == "retention.run")
            .unwrap();
        assert_eq!(run.actor, "system:retention");
        assert!(run.details.contains(c.as_str()));
        assert!(!run.details.contains("thanks"));
    }
}

#[tokio::test]
async fn a_disabled_community_is_erased_after_its_window_unless_re_enabled() {
    for db in TestDb::all().await {
        let w = world(&db, json!({ "timezone": "UTC" })).await;
        let other = community(&w.store, json!({}), "T2").await;
        let active = community(&w.store, json!({}), "T3").await;
        w.clock.set(at(2026, 3, 2, 12, 0, 0));
        let mut tx = w.store.begin().await.unwrap();
        tx.disable_community(&w.community).await.unwrap();
        tx.disable_community(&other).await.unwrap();
        tx.commit().await.unwrap();
        // Re-enabled a week later: its deletion clock stops.
        w.clock.set(at(2026, 3, 9, 12, 0, 0));
        let mut tx = w.store.begin().await.unwrap();
        tx.enable_community(&other).await.unwrap();
        tx.commit().await.unwrap();

        let before = preview(&w.store, &w.community, at(2026, 3, 31, 12, 0, 0))
            .await
            .unwrap();
        assert!(!before.community.due, "{}", db.backend());
        assert_eq!(
            before.community.erase_at_ms,
            Some(at(2026, 4, 1, 12, 0, 0).timestamp_millis())
        );
        let reenabled = preview(&w.store, &other, at(2026, 4, 20, 0, 0, 0))
            .await
            .unwrap();
        assert_eq!(reenabled.community.erase_at_ms, None);
        assert!(!reenabled.community.due);

        // A day early: nothing.
        w.clock.set(at(2026, 3, 31, 12, 0, 0));
        let rec = Recorder::default();
        run_all(&w.store, &rec).await.unwrap();
        assert!(rec.calls().is_empty(), "{:?}", rec.calls());

        // 30 days after: only the community still disabled.
        w.clock.set(at(2026, 4, 1, 12, 0, 0));
        let plan = preview(&w.store, &w.community, w.clock.now())
            .await
            .unwrap();
        assert!(plan.community.due);
        let rec = Recorder::default();
        let reports = run_all(&w.store, &rec).await.unwrap();
        assert_eq!(rec.calls(), vec![Call::EraseCommunity(w.community.clone())]);
        assert_eq!(reports.len(), 3);
        assert!(reports
            .iter()
            .all(|r| r.community_erased == (r.community_id.as_ref() == Some(&w.community))));
        let _ = active;
    }
}

#[tokio::test]
async fn without_a_course_end_no_text_is_removed_and_the_preview_says_so() {
    for db in TestDb::all().await {
        let w = world(&db, json!({ "timezone": "UTC" })).await;
        join(&w, "UA", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        deliver(
            &w,
            "E1",
            &post("1", "UA", &["UB"], 1, at(2026, 3, 2, 10, 0, 0)),
        )
        .await;
        settle(&w).await;
        w.clock.set(at(2030, 1, 1, 0, 0, 0));
        let plan = preview(&w.store, &w.community, w.clock.now())
            .await
            .unwrap();
        assert_eq!(plan.text.course_end, None);
        assert_eq!(plan.text.cut_ms, None);
        assert!(
            plan.text.note.contains("no course end date"),
            "{}",
            plan.text.note
        );
        let rec = Recorder::default();
        let report = run_community(&w.store, &rec, &w.community).await.unwrap();
        assert_eq!(report.text.messages, 0, "{}", db.backend());
        assert!(has_text(&w, "C1:1").await);
    }
}

#[tokio::test]
async fn the_product_actions_scrub_the_inbox_and_queue_erasures_the_job_then_runs() {
    for db in TestDb::all().await {
        let w = world(
            &db,
            json!({ "timezone": "UTC", "course_end": "2026-03-05" }),
        )
        .await;
        join(&w, "UA", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        deliver(
            &w,
            "E1",
            &post("1", "UA", &["UB"], 1, at(2026, 3, 2, 10, 0, 0)),
        )
        .await;
        settle(&w).await;
        // More than 365 days after the last activity: both members are inactive.
        w.clock.set(at(2027, 6, 1, 0, 0, 0));
        run_community(&w.store, &StoreActions, &w.community)
            .await
            .unwrap();
        assert!(
            !has_text(&w, "C1:1").await,
            "text past course end + 180 days"
        );
        let requests = classcred_service::erasure::list_erasures(&w.store, &w.community)
            .await
            .unwrap();
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert!(requests.iter().all(|r| {
            r.origin == classcred_service::erasure::ErasureOrigin::Retention
                && r.state == classcred_service::erasure::ErasureState::Pending
        }));
        // The next day's run finds them already queued: not an error.
        run_community(&w.store, &StoreActions, &w.community)
            .await
            .unwrap();
        let signer = classcred_service::receipt::ReceiptSigner::generate();
        let receipts = classcred_service::erasure::run_due_erasures(&w.store, &signer)
            .await
            .unwrap();
        assert_eq!(receipts.len(), 2);
        let mut tx = w.store.begin().await.unwrap();
        let members = tx.for_community(&w.community).list_members().await.unwrap();
        tx.commit().await.unwrap();
        assert!(
            members
                .iter()
                .all(|m| m.platform_user_id.starts_with("erased:")),
            "every inactive member is erased"
        );
    }
}

#[tokio::test]
async fn schedules_are_validated_defaulted_and_audited() {
    for db in TestDb::all().await {
        let w = world(&db, json!({})).await;
        let admin = join(&w, "UA", Role::Admin).await;
        let p = retention::policy(&w.store, &w.community).await.unwrap();
        assert!(!p.stored);
        assert_eq!(p.values, values(30, 180, 365, 30));

        let bad = set_policy(
            &w.store,
            &w.community,
            &values(0, 180, 10, 31),
            &Changer::Member(admin.clone()),
        )
        .await
        .unwrap_err();
        let RetentionError::Invalid(fields) = bad else {
            panic!("expected invalid, got {bad:?}")
        };
        let names: Vec<_> = fields.iter().map(|f| f.field).collect();
        assert_eq!(
            names,
            vec![
                "inbox_days",
                "inactive_member_days",
                "disabled_community_days"
            ]
        );
        assert!(
            !retention::policy(&w.store, &w.community)
                .await
                .unwrap()
                .stored
        );

        set_policy(
            &w.store,
            &w.community,
            &values(7, 90, 400, 14),
            &Changer::Member(admin.clone()),
        )
        .await
        .unwrap();
        let p = retention::policy(&w.store, &w.community).await.unwrap();
        assert!(p.stored);
        assert_eq!(p.values, values(7, 90, 400, 14));
        assert_eq!(
            p.updated_by.as_deref(),
            Some(format!("member:{admin}").as_str())
        );
        let audit = w.store.audit_entries(Some(&w.community)).await.unwrap();
        let set = audit.iter().find(|a| a.action == "retention.set").unwrap();
        assert_eq!(set.actor, format!("member:{admin}"));
        let details: serde_json::Value = serde_json::from_str(&set.details).unwrap();
        assert_eq!(details["from"]["inbox_days"], 30);
        assert_eq!(details["to"]["inbox_days"], 7);
    }
}

#[tokio::test]
async fn the_daily_job_is_enqueued_once_a_day() {
    let db = TestDb::sqlite().await;
    let w = world(&db, json!({})).await;
    assert!(retention::schedule_retention(&w.store).await.unwrap());
    assert!(!retention::schedule_retention(&w.store).await.unwrap());
    // The next day, while yesterday's still waits, the waiting one covers it (coalesced)…
    w.clock.advance(chrono::Duration::days(1));
    assert!(!retention::schedule_retention(&w.store).await.unwrap());
    // …once it ran, the day's own run is enqueued, once.
    let job = w.store.claim_job("w1", 60_000).await.unwrap().unwrap();
    assert_eq!(job.kind, retention::RETENTION_JOB);
    assert!(w.store.complete_job(&job.id, "w1").await.unwrap());
    assert!(retention::schedule_retention(&w.store).await.unwrap());
    assert!(!retention::schedule_retention(&w.store).await.unwrap());
}

/// Device and network data (sign-in records) is purged by the daily run once it is 30 days
/// old, in every community, whatever their schedules; younger records stay.
#[tokio::test]
async fn the_daily_run_purges_device_data_after_30_days() {
    for db in TestDb::all().await {
        let w = world(&db, json!({ "timezone": "UTC" })).await;
        let m = join(&w, "UDEVICE", Role::Student).await;
        let record = |at_time| {
            let w = &w;
            let m = m.clone();
            async move {
                w.clock.set(at_time);
                let mut tx = w.store.begin().await.unwrap();
                tx.for_community(&w.community)
                    .record_sign_in(&m, Some("192.0.2.0/24"), Some("Firefox on Linux"))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        };
        record(at(2026, 3, 2, 12, 0, 0)).await;
        record(at(2026, 3, 20, 12, 0, 0)).await;
        let stored = || {
            let w = &w;
            let m = m.clone();
            async move {
                let mut tx = w.store.begin().await.unwrap();
                let v = tx
                    .for_community(&w.community)
                    .sign_ins_of_member(&m, 10)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                v.into_iter().map(|r| r.signed_in_at).collect::<Vec<_>>()
            }
        };
        // 29 days after the first: both stay.
        w.clock.set(at(2026, 3, 31, 12, 0, 0));
        run_all(&w.store, &Recorder::default()).await.unwrap();
        assert_eq!(stored().await.len(), 2);
        // 30 days and a minute after the first: it goes, the second stays.
        w.clock.set(at(2026, 4, 1, 12, 1, 0));
        run_all(&w.store, &Recorder::default()).await.unwrap();
        assert_eq!(
            stored().await,
            vec![at(2026, 3, 20, 12, 0, 0).timestamp_millis()]
        );
        // And that one 30 days after it.
        w.clock.set(at(2026, 4, 19, 12, 1, 0));
        run_all(&w.store, &Recorder::default()).await.unwrap();
        assert!(stored().await.is_empty());
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sign_in_record")
            .fetch_one(w.store.pool())
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
}
