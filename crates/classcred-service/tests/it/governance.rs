//! Privacy governance registers (issue 12): policy versions and acknowledgements, the breach
//! register (72-hour clock across DST changes, notices to exactly the affected Admins,
//! overdue with a moved clock), the legal-request register. Every backend.

use crate::common::*;

use chrono::{Duration, TimeZone};
use classcred_service::governance::{
    acknowledge_policy, close_breach, close_legal_request, notify_breach, pending_policy,
    publish_policy, record_breach, record_legal_request, AUDIT_BREACH_NOTICE, AUDIT_LEGAL_CLOSED,
    AUDIT_LEGAL_DECIDED, AUDIT_LEGAL_DISCLOSED, AUDIT_LEGAL_RECORDED, AUDIT_POLICY_ACKNOWLEDGED,
    AUDIT_POLICY_PUBLISHED,
};
use classcred_store::governance::{
    fmt_in_zone, BreachScope, BreachState, LegalDecision, LegalOutcome, NewLegalRequest,
    NoticeChannel,
};
use classcred_store::testing::TestDb;
use classcred_store::{CommunityId, MemberRowId, Role, Store, StoreError};
use serde_json::json;

/// `World` for another community of the same store.
fn other(w: &World, community: CommunityId) -> World {
    World {
        store: w.store.clone(),
        clock: w.clock.clone(),
        community,
        key_text: w.key_text.clone(),
    }
}

/// `(to, type)` of every notice job whose kind is `kind`, sorted.
async fn notices_of(store: &Store, kind: &str) -> Vec<(String, serde_json::Value)> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM job WHERE kind = 'notice.deliver' ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let mut out: Vec<(String, serde_json::Value)> = rows
        .iter()
        .map(|p| serde_json::from_str::<serde_json::Value>(p).unwrap())
        .filter(|p| p["notice"]["kind"]["type"] == kind)
        .map(|p| {
            (
                p["notice"]["to"].as_str().unwrap().to_owned(),
                p["notice"]["kind"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn publishing_a_policy_asks_every_admin_once_and_acknowledgements_are_recorded_and_audited() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, json!({})).await;
        let admin_a1 = join(&w, "UA1", Role::Admin).await;
        let admin_a2 = join(&w, "UA2", Role::Admin).await;
        let teacher = join(&w, "UT", Role::Instructor).await;
        let student = join(&w, "US", Role::Student).await;
        let wb = other(&w, community(&w.store, json!({}), "T2").await);
        let admin_b = join(&wb, "UB1", Role::Admin).await;
        // A disabled community's Admin is not asked.
        let wc = other(&w, community(&w.store, json!({}), "T3").await);
        let admin_c = join(&wc, "UC1", Role::Admin).await;
        let mut tx = w.store.begin().await.unwrap();
        tx.disable_community(&wc.community).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(
            w.store.current_policy_version_summary().await.unwrap(),
            None,
            "{b}"
        );
        let published = publish_policy(&w.store, "1.0", "# Policy\n\nFirst text.")
            .await
            .unwrap();
        let v1 = published.version.clone();
        assert_eq!(published.admins.len(), 3, "{b}");

        // Exactly one pending acknowledgement per Admin of an active community; none for the
        // others.
        for (c, m) in [
            (&w.community, &admin_a1),
            (&w.community, &admin_a2),
            (&wb.community, &admin_b),
        ] {
            let mut tx = w.store.begin().await.unwrap();
            let pending = tx.pending_policy_acks(c, m).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(pending.len(), 1, "{b}: {m}");
            assert_eq!(pending[0].version, "1.0");
            assert_eq!(pending[0].acknowledged_at, None);
        }
        for (c, m) in [
            (&w.community, &teacher),
            (&w.community, &student),
            (&wc.community, &admin_c),
        ] {
            assert_eq!(
                pending_policy(&w.store, c, m).await.unwrap(),
                None,
                "{b}: {m}"
            );
        }
        // A chat notice to exactly those Admins, through the notice path.
        let told: Vec<String> = notices_of(&w.store, "policy_published")
            .await
            .into_iter()
            .map(|(to, kind)| {
                assert_eq!(kind["version"], "1.0");
                to
            })
            .collect();
        assert_eq!(
            told,
            sorted(vec![
                admin_a1.to_string(),
                admin_a2.to_string(),
                admin_b.to_string()
            ]),
            "{b}"
        );

        // Duplicate and non-increasing versions are refused, with a clear message.
        for (again, says) in [
            ("1.0", "already published"),
            ("1", "not greater"),
            ("0.9", "not greater"),
            ("v2", "numbers separated by dots"),
        ] {
            let err = publish_policy(&w.store, again, "text").await.unwrap_err();
            assert!(
                matches!(&err, StoreError::Invalid(m) if m.contains(says)),
                "{b}: {again}: {err}"
            );
        }

        // Acknowledging records the time and audits it; the banner's pending row is gone.
        w.clock.advance(Duration::hours(5));
        let ack = acknowledge_policy(&w.store, &w.community, &admin_a1, &v1.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ack.acknowledged_at, Some(w.store.now_ms()), "{b}");
        assert_eq!(
            pending_policy(&w.store, &w.community, &admin_a1)
                .await
                .unwrap(),
            None,
            "{b}"
        );
        // Not twice, and not by a student or for another community.
        assert!(
            acknowledge_policy(&w.store, &w.community, &admin_a1, &v1.id)
                .await
                .unwrap()
                .is_none(),
            "{b}"
        );
        assert!(
            acknowledge_policy(&w.store, &w.community, &student, &v1.id)
                .await
                .unwrap()
                .is_none(),
            "{b}"
        );
        assert!(
            acknowledge_policy(&w.store, &wb.community, &admin_a2, &v1.id)
                .await
                .unwrap()
                .is_none(),
            "{b}"
        );
        let acks: Vec<_> = w
            .store
            .audit_entries(Some(&w.community))
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == AUDIT_POLICY_ACKNOWLEDGED)
            .collect();
        assert_eq!(acks.len(), 1, "{b}");
        assert_eq!(acks[0].actor, format!("member:{admin_a1}"));
        assert_eq!(
            acks[0].subject.as_deref(),
            Some(&*format!("policy_version:{}", v1.id))
        );
        assert!(w
            .store
            .audit_entries(None)
            .await
            .unwrap()
            .iter()
            .any(|e| e.action == AUDIT_POLICY_PUBLISHED && e.community_id.is_none()));

        // A newer version supersedes the unacknowledged one: still exactly one pending each.
        let v2 = publish_policy(&w.store, "1.1", "# Policy\n\nSecond text.")
            .await
            .unwrap();
        assert_eq!(v2.superseded, 2, "{b}: a2 and b had not acknowledged 1.0");
        for (c, m) in [
            (&w.community, &admin_a1),
            (&w.community, &admin_a2),
            (&wb.community, &admin_b),
        ] {
            let mut tx = w.store.begin().await.unwrap();
            let pending = tx.pending_policy_acks(c, m).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(pending.len(), 1, "{b}: {m}");
            assert_eq!(pending[0].version, "1.1");
        }
        assert_eq!(
            w.store.current_policy_version_summary().await.unwrap(),
            Some(("1.1".to_string(), v2.version.published_at)),
            "{b}"
        );
        let mut tx = w.store.begin().await.unwrap();
        let versions = tx.policy_versions().await.unwrap();
        assert_eq!(
            versions
                .iter()
                .map(|v| v.version.as_str())
                .collect::<Vec<_>>(),
            ["1.1", "1.0"]
        );
        assert_eq!(tx.policy_ack_counts(&v1.id).await.unwrap(), (0, 1), "{b}");
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn the_breach_deadline_is_72_elapsed_hours_across_daylight_saving_changes() {
    let h72 = 72 * 3_600_000;
    // London springs forward on 2026-03-29 01:00 UTC: 72 elapsed hours from Saturday 09:00 GMT
    // end on Tuesday 10:00 BST on the wall clock.
    let london: chrono_tz::Tz = "Europe/London".parse().unwrap();
    let reported = london
        .with_ymd_and_hms(2026, 3, 28, 9, 0, 0)
        .single()
        .unwrap()
        .timestamp_millis();
    // New York falls back on 2026-11-01: 72 h from Saturday 09:00 EDT end Tuesday 08:00 EST.
    let new_york: chrono_tz::Tz = "America/New_York".parse().unwrap();
    let reported_ny = new_york
        .with_ymd_and_hms(2026, 10, 31, 9, 0, 0)
        .single()
        .unwrap()
        .timestamp_millis();
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, json!({})).await;
        let spring = record_breach(&w.store, reported, BreachScope::All, "lost laptop")
            .await
            .unwrap();
        let fall = record_breach(
            &w.store,
            reported_ny,
            BreachScope::All,
            "misdirected export",
        )
        .await
        .unwrap();
        let mut tx = w.store.begin().await.unwrap();
        let spring = tx.breach(&spring.id).await.unwrap().unwrap();
        let fall = tx.breach(&fall.id).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        assert_eq!(spring.deadline_at - spring.reported_at, h72, "{b}");
        assert_eq!(fall.deadline_at - fall.reported_at, h72, "{b}");
        assert_eq!(
            fmt_in_zone(spring.reported_at, &london),
            "2026-03-28 09:00 GMT"
        );
        assert_eq!(
            fmt_in_zone(spring.deadline_at, &london),
            "2026-03-31 10:00 BST"
        );
        assert_eq!(
            fmt_in_zone(fall.reported_at, &new_york),
            "2026-10-31 09:00 EDT"
        );
        assert_eq!(
            fmt_in_zone(fall.deadline_at, &new_york),
            "2026-11-03 08:00 EST"
        );
    }
}

#[tokio::test]
async fn breach_notices_go_to_exactly_the_affected_admins_and_each_sending_is_recorded() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, json!({})).await;
        let a1 = join(&w, "UA1", Role::Admin).await;
        let a2 = join(&w, "UA2", Role::Admin).await;
        join(&w, "UT", Role::Instructor).await;
        join(&w, "US", Role::Student).await;
        let wb = other(&w, community(&w.store, json!({}), "T2").await);
        let b1 = join(&wb, "UB1", Role::Admin).await;
        join(&wb, "UBS", Role::Student).await;
        let wc = other(&w, community(&w.store, json!({}), "T3").await);
        join(&wc, "UC1", Role::Admin).await;
        let mut tx = w.store.begin().await.unwrap();
        tx.disable_community(&wc.community).await.unwrap();
        tx.commit().await.unwrap();
        let wd = other(&w, community(&w.store, json!({}), "T4").await);
        join(&wd, "UD1", Role::Admin).await;
        w.store
            .erase_community(&wd.community, &mut |_, _| {})
            .await
            .unwrap();

        // Scope: one community → its Admins only.
        let now = w.store.now_ms();
        let one = record_breach(
            &w.store,
            now,
            BreachScope::Community(wb.community.clone()),
            "backup copied to the wrong bucket",
        )
        .await
        .unwrap();
        let sent = notify_breach(&w.store, &one.id).await.unwrap();
        assert_eq!(
            sent.chat_sent,
            vec![(wb.community.clone(), b1.clone())],
            "{b}"
        );
        assert_eq!(sent.emails.len(), 1, "{b}");
        assert!(sent.emails[0]
            .markdown
            .contains("backup copied to the wrong bucket"));
        assert!(sent.emails[0].markdown.contains(&one.id));
        assert_eq!(sent.emails[0].to_name.as_deref(), Some("Name of UB1"));
        assert_eq!(sent.breach.state, BreachState::Notified, "{b}");

        // Scope: all → every Admin of every active community; disabled and erased listed.
        let all = record_breach(&w.store, now, BreachScope::All, "database dump leaked")
            .await
            .unwrap();
        let sent = notify_breach(&w.store, &all.id).await.unwrap();
        let mut to: Vec<String> = sent.chat_sent.iter().map(|(_, m)| m.to_string()).collect();
        to.sort();
        assert_eq!(
            to,
            sorted(vec![a1.to_string(), a2.to_string(), b1.to_string()]),
            "{b}"
        );
        let mut skipped = sent.audience.skipped.clone();
        skipped.sort_by(|x, y| x.1.cmp(y.1));
        assert_eq!(
            skipped,
            vec![
                (wc.community.clone(), "disabled"),
                (wd.community.clone(), "erased")
            ],
            "{b}"
        );
        let mut tx = w.store.begin().await.unwrap();
        let recorded = tx.breach_notices(&all.id).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(recorded.len(), 6, "{b}: chat + email for 3 Admins");
        for n in &recorded {
            assert_eq!(n.sent_by, "operator");
            assert_eq!(n.sent_at, now);
            assert_eq!(n.job_id.is_some(), n.channel == NoticeChannel::Chat, "{b}");
        }
        // The chat notices went through the notice job.
        let chats = notices_of(&w.store, "breach_notice").await;
        assert_eq!(chats.len(), 4, "{b}: 1 + 3");
        assert!(chats
            .iter()
            .all(|(_, k)| k["breach_id"] == one.id || k["breach_id"] == all.id));
        // Each Admin's notice is audited in their community.
        let audited = w
            .store
            .audit_entries(Some(&w.community))
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == AUDIT_BREACH_NOTICE)
            .count();
        assert_eq!(audited, 2, "{b}");

        // Sending again sends nothing twice.
        let again = notify_breach(&w.store, &all.id).await.unwrap();
        assert!(again.chat_sent.is_empty() && again.emails.is_empty(), "{b}");
        assert_eq!(again.already.len(), 3, "{b}");

        // A closed breach sends nothing; unknown ids are errors.
        assert!(close_breach(&w.store, &all.id).await.unwrap());
        assert!(!close_breach(&w.store, &all.id).await.unwrap());
        assert!(notify_breach(&w.store, &all.id).await.is_err(), "{b}");
        assert!(matches!(
            notify_breach(&w.store, "no-such-breach").await,
            Err(StoreError::NotFound { .. })
        ));
        let _: MemberRowId = a1;
    }
}

#[tokio::test]
async fn an_unnotified_breach_becomes_overdue_when_the_clock_passes_72_hours() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, json!({})).await;
        join(&w, "UA1", Role::Admin).await;
        let reported = w.store.now_ms();
        let br = record_breach(&w.store, reported, BreachScope::All, "stolen credentials")
            .await
            .unwrap();
        let label = |now: i64| br.clock_label(now);
        assert_eq!(label(w.store.now_ms()), "72 h left", "{b}");
        w.clock.advance(Duration::hours(71) + Duration::minutes(30));
        assert_eq!(label(w.store.now_ms()), "0 h left", "{b}");
        w.clock.advance(Duration::hours(2));
        let mut tx = w.store.begin().await.unwrap();
        let listed = tx.breaches(false).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(listed.len(), 1, "{b}");
        let now = w.store.now_ms();
        assert!(listed[0].is_overdue(now), "{b}");
        assert_eq!(listed[0].hours_left(now), -2, "{b}: 1.5 h late");
        assert_eq!(listed[0].clock_label(now), "OVERDUE by 2 h", "{b}");
        // Notifying late stops the clock; the audit says it was late.
        notify_breach(&w.store, &br.id).await.unwrap();
        let mut tx = w.store.begin().await.unwrap();
        let done = tx.breach(&br.id).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        assert!(!done.is_overdue(now), "{b}");
        assert_eq!(done.clock_label(now), "notified");
        let late = w
            .store
            .audit_entries(None)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.action == "breach.notified")
            .unwrap();
        assert!(
            late.details.contains("\"late\":true"),
            "{b}: {}",
            late.details
        );
    }
}

#[tokio::test]
async fn legal_requests_are_recorded_listed_closed_and_every_decision_and_disclosure_audited() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, json!({})).await;
        let received = w.store.now_ms() - 3_600_000;
        let r = record_legal_request(
            &w.store,
            &NewLegalRequest {
                received_at: received,
                requester: "County police, cyber unit",
                authority: "production order 2026/114",
                scope: "messages of member 0192 in March",
                community_id: Some(&w.community),
                recorded_by: "operator",
            },
        )
        .await
        .unwrap();
        let other_r = record_legal_request(
            &w.store,
            &NewLegalRequest {
                received_at: received,
                requester: "Tax office",
                authority: "letter",
                scope: "all member emails",
                community_id: None,
                recorded_by: "operator",
            },
        )
        .await
        .unwrap();
        // Empty fields are refused.
        assert!(record_legal_request(
            &w.store,
            &NewLegalRequest {
                received_at: received,
                requester: " ",
                authority: "x",
                scope: "y",
                community_id: None,
                recorded_by: "operator",
            },
        )
        .await
        .is_err());
        let mut tx = w.store.begin().await.unwrap();
        let open = tx.legal_requests(false).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(open.len(), 2, "{b}");
        assert_eq!(open[0].decision, LegalDecision::Pending);

        // A refusal discloses nothing; closing needs a real decision.
        let pending = close_legal_request(
            &w.store,
            &other_r.id,
            &LegalOutcome {
                decision: LegalDecision::Pending,
                note: None,
                disclosed: None,
                disclosed_at: None,
                by: "operator",
            },
        )
        .await;
        assert!(pending.is_err(), "{b}");
        let refused_with_data = close_legal_request(
            &w.store,
            &other_r.id,
            &LegalOutcome {
                decision: LegalDecision::Refused,
                note: None,
                disclosed: Some("emails"),
                disclosed_at: None,
                by: "operator",
            },
        )
        .await;
        assert!(refused_with_data.is_err(), "{b}");
        let refused = close_legal_request(
            &w.store,
            &other_r.id,
            &LegalOutcome {
                decision: LegalDecision::Refused,
                note: Some("no legal basis"),
                disclosed: None,
                disclosed_at: None,
                by: "operator",
            },
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(refused.state, "closed");
        assert_eq!(refused.disclosed_at, None);

        let disclosed_at = w.store.now_ms() - 60_000;
        let closed = close_legal_request(
            &w.store,
            &r.id,
            &LegalOutcome {
                decision: LegalDecision::PartiallyComplied,
                note: Some("narrowed to one week"),
                disclosed: Some("ledger rows of member 0192, 3-9 March"),
                disclosed_at: Some(disclosed_at),
                by: "operator",
            },
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(closed.decision, LegalDecision::PartiallyComplied, "{b}");
        assert_eq!(closed.disclosed_at, Some(disclosed_at));
        assert_eq!(closed.decided_at, Some(w.store.now_ms()));
        // Closing twice does nothing.
        assert!(close_legal_request(
            &w.store,
            &r.id,
            &LegalOutcome {
                decision: LegalDecision::Refused,
                note: None,
                disclosed: None,
                disclosed_at: None,
                by: "operator",
            },
        )
        .await
        .unwrap()
        .is_none());
        let mut tx = w.store.begin().await.unwrap();
        assert!(tx.legal_requests(false).await.unwrap().is_empty(), "{b}");
        assert_eq!(tx.legal_requests(true).await.unwrap().len(), 2);
        tx.commit().await.unwrap();

        // Audit: record, decide, disclose, close for the community's request (in its
        // community); record, decide, close (no disclosure) for the install-wide one.
        let entries = w.store.audit_entries(None).await.unwrap();
        let of = |id: &str| -> Vec<(String, Option<String>)> {
            entries
                .iter()
                .filter(|e| e.subject.as_deref() == Some(&*format!("legal_request:{id}")))
                .map(|e| {
                    (
                        e.action.clone(),
                        e.community_id.as_ref().map(|c| c.to_string()),
                    )
                })
                .collect()
        };
        let c = Some(w.community.to_string());
        assert_eq!(
            of(&r.id),
            vec![
                (AUDIT_LEGAL_RECORDED.to_string(), c.clone()),
                (AUDIT_LEGAL_DECIDED.to_string(), c.clone()),
                (AUDIT_LEGAL_DISCLOSED.to_string(), c.clone()),
                (AUDIT_LEGAL_CLOSED.to_string(), c),
            ],
            "{b}"
        );
        assert_eq!(
            of(&other_r.id),
            vec![
                (AUDIT_LEGAL_RECORDED.to_string(), None),
                (AUDIT_LEGAL_DECIDED.to_string(), None),
                (AUDIT_LEGAL_CLOSED.to_string(), None),
            ],
            "{b}"
        );
        // The chain still verifies.
        assert!(w.store.verify_audit().await.unwrap().is_ok(), "{b}");
    }
}

/// Acknowledgements and breach notices are a community's rows: its export carries them (the
/// Admin's own export too), and a community erasure purges them; the install-wide registers
/// (policy versions, the breach itself) stay.
#[tokio::test]
async fn acknowledgements_and_notices_are_exported_and_purged_with_their_community() {
    use classcred_service::export::{self, ExportSubject};
    use std::io::Read;
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, json!({})).await;
        let admin = join(&w, "UA1", Role::Admin).await;
        let v = publish_policy(&w.store, "3", "text").await.unwrap().version;
        acknowledge_policy(&w.store, &w.community, &admin, &v.id)
            .await
            .unwrap()
            .unwrap();
        let breach = record_breach(&w.store, w.store.now_ms(), BreachScope::All, "leak")
            .await
            .unwrap();
        notify_breach(&w.store, &breach.id).await.unwrap();

        let dir = tempfile::tempdir().unwrap();
        for (name, subject) in [
            ("all.zip", ExportSubject::Community),
            ("admin.zip", ExportSubject::Member(admin.clone())),
        ] {
            let out = dir.path().join(name);
            export::write_archive(&w.store, &w.community, &subject, &out, &mut |_, _| {})
                .await
                .unwrap();
            let mut z = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
            let mut read = |file: &str| {
                let mut s = String::new();
                z.by_name(file).unwrap().read_to_string(&mut s).unwrap();
                s
            };
            let acks = read("tables/policy_ack.ndjson");
            assert!(
                acks.contains(&v.id) && acks.contains(admin.as_str()),
                "{b}: {name}"
            );
            let notices = read("tables/breach_notice.ndjson");
            assert_eq!(notices.lines().count(), 2, "{b}: {name}: chat + email");
            assert!(notices.contains(&breach.id));
        }

        w.store
            .erase_community(&w.community, &mut |_, _| {})
            .await
            .unwrap();
        let count = |sql: &'static str| {
            let store = w.store.clone();
            let c = w.community.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .bind(c)
                    .fetch_one(store.pool())
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            count("SELECT CAST(COUNT(*) AS BIGINT) FROM policy_ack WHERE community_id = $1").await,
            0,
            "{b}"
        );
        assert_eq!(
            count("SELECT CAST(COUNT(*) AS BIGINT) FROM breach_notice WHERE community_id = $1")
                .await,
            0,
            "{b}"
        );
        let mut tx = w.store.begin().await.unwrap();
        assert!(tx.breach(&breach.id).await.unwrap().is_some(), "{b}");
        assert_eq!(tx.policy_versions().await.unwrap().len(), 1);
        tx.commit().await.unwrap();
    }
}
