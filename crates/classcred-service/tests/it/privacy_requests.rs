//! Privacy requests: open, duplicate refused, cancel, approve (each kind runs the right
//! action), decline needs a reason, overdue with a moved clock, isolation between members and
//! communities, notices and audit entries. Every backend.

use crate::common::*;

use std::sync::Mutex;

use classcred_service::privacy_requests::{
    approve_request, cancel_request, decline_request, my_requests, open_request,
    overdue_in_community, overdue_total, queue, ActionFuture, RequestActions, RequestError,
    AUDIT_APPROVED, AUDIT_CANCELLED, AUDIT_DECLINED, AUDIT_OPENED,
};
use classcred_store::testing::TestDb;
use classcred_store::{
    CommunityId, MemberRowId, PrivacyRequestKind as Kind, PrivacyRequestState as State, Role, Store,
};
use serde_json::json;

/// Records what an approval asked for; fails when told to.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
    fail: bool,
}

impl Recorder {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl RequestActions for Recorder {
    fn start_member_export<'a>(
        &'a self,
        _store: &'a Store,
        community: &'a CommunityId,
        member: &'a MemberRowId,
    ) -> ActionFuture<'a> {
        Box::pin(async move {
            if self.fail {
                return Err("export refused".into());
            }
            self.calls
                .lock()
                .unwrap()
                .push(format!("export {community} {member}"));
            Ok(format!("export-job-{member}"))
        })
    }

    fn request_member_erasure<'a>(
        &'a self,
        _store: &'a Store,
        community: &'a CommunityId,
        member: &'a MemberRowId,
        admin: &'a MemberRowId,
    ) -> ActionFuture<'a> {
        Box::pin(async move {
            if self.fail {
                return Err("erasure refused".into());
            }
            self.calls
                .lock()
                .unwrap()
                .push(format!("erase {community} {member} by {admin}"));
            Ok(format!("erasure-{member}"))
        })
    }
}

/// `(to, event, kind)` of every privacy notice job queued.
async fn notices(store: &Store) -> Vec<(String, String, String)> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM job WHERE kind = 'notice.deliver' ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    rows.iter()
        .map(|p| serde_json::from_str::<serde_json::Value>(p).unwrap())
        .filter(|p| p["notice"]["kind"]["type"] == "privacy_request")
        .map(|p| {
            let n = &p["notice"];
            (
                n["to"].as_str().unwrap().to_owned(),
                n["kind"]["event"].as_str().unwrap().to_owned(),
                n["kind"]["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn audit(store: &Store) -> Vec<(String, Option<String>, String)> {
    store
        .audit_entries(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("privacy_request."))
        .map(|e| (e.action, e.subject, e.details))
        .collect()
}

#[tokio::test]
async fn a_student_opens_cancels_and_admins_are_told_and_everything_is_audited() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, json!({})).await;
        let admin = join(&w, "UADMIN", Role::Admin).await;
        let admin2 = join(&w, "UADMIN2", Role::Admin).await;
        join(&w, "UTEACH", Role::Instructor).await;
        let s = join(&w, "US", Role::Student).await;

        let secret = "please fix my email canary-9f1c";
        let r = open_request(&w.store, &w.community, &s, Kind::Correction, Some(secret))
            .await
            .unwrap();
        assert_eq!(r.state, State::Open, "{b}");
        assert_eq!(
            r.due_at - r.created_at,
            30 * 86_400_000,
            "{b}: due in 30 days"
        );
        assert_eq!(r.details.as_deref(), Some(secret));

        // A second open request of the same kind is refused; another kind is fine.
        let dup = open_request(&w.store, &w.community, &s, Kind::Correction, None).await;
        assert!(
            matches!(dup, Err(RequestError::Duplicate(Kind::Correction))),
            "{b}: {dup:?}"
        );
        let del = open_request(&w.store, &w.community, &s, Kind::Deletion, None)
            .await
            .unwrap();

        // Every Admin (not the Instructor) was told about each request.
        let mut told = notices(&w.store).await;
        told.sort();
        let mut want = vec![
            (admin.to_string(), "opened".into(), "correction".into()),
            (admin2.to_string(), "opened".into(), "correction".into()),
            (admin.to_string(), "opened".into(), "deletion".into()),
            (admin2.to_string(), "opened".into(), "deletion".into()),
        ];
        want.sort();
        assert_eq!(told, want, "{b}");

        // The student sees both, newest first, details decrypted.
        let mine = my_requests(&w.store, &w.community, &s).await.unwrap();
        assert_eq!(
            mine.iter().map(|r| r.kind).collect::<Vec<_>>(),
            vec![Kind::Deletion, Kind::Correction],
            "{b}"
        );

        // Cancel: only by its owner, only while open.
        let other = join(&w, "UOTHER", Role::Student).await;
        assert!(matches!(
            cancel_request(&w.store, &w.community, &other, &del.id).await,
            Err(RequestError::NotFound)
        ));
        let c = cancel_request(&w.store, &w.community, &s, &del.id)
            .await
            .unwrap();
        assert_eq!(c.state, State::Cancelled);
        assert!(matches!(
            cancel_request(&w.store, &w.community, &s, &del.id).await,
            Err(RequestError::NotOpen(State::Cancelled))
        ));
        // Cancelled: a new deletion request may be opened.
        open_request(&w.store, &w.community, &s, Kind::Deletion, None)
            .await
            .unwrap();

        // Audited with ids only: never the details.
        let entries = audit(&w.store).await;
        let actions: Vec<&str> = entries.iter().map(|(a, _, _)| a.as_str()).collect();
        assert_eq!(
            actions,
            vec![AUDIT_OPENED, AUDIT_OPENED, AUDIT_CANCELLED, AUDIT_OPENED],
            "{b}"
        );
        for (_, subject, details) in &entries {
            assert_eq!(subject.as_deref(), Some(format!("member:{s}").as_str()));
            assert!(!details.contains("canary-9f1c"), "{b}: details in audit");
        }
        assert!(w.store.verify_audit().await.unwrap().is_ok());

        // Details over 2,000 characters are refused, nothing stored.
        let long = "x".repeat(2001);
        let e = open_request(&w.store, &w.community, &s, Kind::Access, Some(&long)).await;
        assert!(
            matches!(
                e,
                Err(RequestError::Invalid {
                    field: "details",
                    ..
                })
            ),
            "{b}"
        );
    }
}

#[tokio::test]
async fn approving_runs_the_right_action_and_declining_needs_a_reason() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, json!({})).await;
        let admin = join(&w, "UADMIN", Role::Admin).await;
        let teacher = join(&w, "UTEACH", Role::Instructor).await;
        let s = join(&w, "US", Role::Student).await;
        let actions = Recorder::default();

        let access = open_request(&w.store, &w.community, &s, Kind::Access, None)
            .await
            .unwrap();
        let deletion = open_request(&w.store, &w.community, &s, Kind::Deletion, None)
            .await
            .unwrap();
        let correction = open_request(&w.store, &w.community, &s, Kind::Correction, Some("typo"))
            .await
            .unwrap();

        // Only an Admin answers; a student's own id does not help.
        for who in [&teacher, &s] {
            assert!(matches!(
                approve_request(&w.store, &actions, &w.community, who, &access.id, None).await,
                Err(RequestError::Forbidden)
            ));
            assert!(matches!(
                decline_request(&w.store, &w.community, who, &access.id, "no").await,
                Err(RequestError::Forbidden)
            ));
        }
        assert!(actions.calls().is_empty());

        // Access → the member's own export; deletion → an erasure request by this Admin.
        let a = approve_request(&w.store, &actions, &w.community, &admin, &access.id, None)
            .await
            .unwrap();
        assert_eq!(a.state, State::Approved, "{b}");
        assert_eq!(
            a.result_ref.as_deref(),
            Some(format!("export-job-{s}").as_str())
        );
        assert_eq!(a.decided_by.as_ref(), Some(&admin));
        let d = approve_request(&w.store, &actions, &w.community, &admin, &deletion.id, None)
            .await
            .unwrap();
        assert_eq!(
            d.result_ref.as_deref(),
            Some(format!("erasure-{s}").as_str())
        );
        assert_eq!(
            actions.calls(),
            vec![
                format!("export {} {s}", w.community),
                format!("erase {} {s} by {admin}", w.community),
            ],
            "{b}"
        );
        // Answered once only.
        assert!(matches!(
            approve_request(&w.store, &actions, &w.community, &admin, &access.id, None).await,
            Err(RequestError::NotOpen(State::Approved))
        ));
        assert_eq!(actions.calls().len(), 2);

        // Correction: approved with the Admin's note of what was corrected (required).
        assert!(matches!(
            approve_request(
                &w.store,
                &actions,
                &w.community,
                &admin,
                &correction.id,
                None
            )
            .await,
            Err(RequestError::Invalid { field: "note", .. })
        ));
        let c = approve_request(
            &w.store,
            &actions,
            &w.community,
            &admin,
            &correction.id,
            Some("Fixed the spelling of your name in Slack"),
        )
        .await
        .unwrap();
        assert_eq!(c.state, State::Approved);
        assert_eq!(
            c.decision_note.as_deref(),
            Some("Fixed the spelling of your name in Slack")
        );
        assert_eq!(actions.calls().len(), 2, "{b}: a correction runs no action");

        // Decline needs a reason (≤ 500 chars); the student sees it.
        let again = open_request(&w.store, &w.community, &s, Kind::Access, None)
            .await
            .unwrap();
        for bad in ["", "   "] {
            assert!(matches!(
                decline_request(&w.store, &w.community, &admin, &again.id, bad).await,
                Err(RequestError::Invalid {
                    field: "reason",
                    ..
                })
            ));
        }
        assert!(matches!(
            decline_request(&w.store, &w.community, &admin, &again.id, &"r".repeat(501)).await,
            Err(RequestError::Invalid {
                field: "reason",
                ..
            })
        ));
        let no = decline_request(
            &w.store,
            &w.community,
            &admin,
            &again.id,
            "You received your export yesterday",
        )
        .await
        .unwrap();
        assert_eq!(no.state, State::Declined);
        let mine = my_requests(&w.store, &w.community, &s).await.unwrap();
        let seen = mine.iter().find(|r| r.id == again.id).unwrap();
        assert_eq!(
            seen.decision_note.as_deref(),
            Some("You received your export yesterday"),
            "{b}"
        );

        // The student was told of each answer.
        let to_student: Vec<(String, String)> = notices(&w.store)
            .await
            .into_iter()
            .filter(|(to, _, _)| to == s.as_str())
            .map(|(_, event, kind)| (event, kind))
            .collect();
        assert_eq!(
            to_student,
            vec![
                ("approved".into(), "access".into()),
                ("approved".into(), "deletion".into()),
                ("approved".into(), "correction".into()),
                ("declined".into(), "access".into()),
            ],
            "{b}"
        );
        let actions_audited: Vec<String> = audit(&w.store)
            .await
            .into_iter()
            .map(|(a, _, _)| a)
            .collect();
        assert_eq!(
            actions_audited
                .iter()
                .filter(|a| *a == AUDIT_APPROVED)
                .count(),
            3
        );
        assert_eq!(
            actions_audited
                .iter()
                .filter(|a| *a == AUDIT_DECLINED)
                .count(),
            1
        );
        assert!(!audit(&w.store)
            .await
            .iter()
            .any(|(_, _, d)| d.contains("yesterday") || d.contains("spelling")));

        // A failing action leaves the request open and says so.
        let failing = Recorder {
            fail: true,
            ..Default::default()
        };
        let open = open_request(&w.store, &w.community, &s, Kind::Access, None)
            .await
            .unwrap();
        let e = approve_request(&w.store, &failing, &w.community, &admin, &open.id, None).await;
        assert!(
            matches!(e, Err(RequestError::Action { what: "export", .. })),
            "{b}: {e:?}"
        );
        let mut tx = w.store.begin().await.unwrap();
        let still = tx
            .for_community(&w.community)
            .privacy_request(&open.id)
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(still.state, State::Open, "{b}");
        assert_eq!(still.decided_by, None);
    }
}

#[tokio::test]
async fn overdue_requests_are_counted_after_thirty_days() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, json!({})).await;
        let admin = join(&w, "UADMIN", Role::Admin).await;
        let s = join(&w, "US", Role::Student).await;
        let answered = open_request(&w.store, &w.community, &s, Kind::Access, None)
            .await
            .unwrap();
        let waiting = open_request(&w.store, &w.community, &s, Kind::Deletion, None)
            .await
            .unwrap();
        decline_request(&w.store, &w.community, &admin, &answered.id, "duplicate")
            .await
            .unwrap();

        w.clock.advance(chrono::Duration::days(30));
        assert_eq!(
            overdue_total(&w.store).await.unwrap(),
            0,
            "{b}: due, not past due"
        );
        w.clock.advance(chrono::Duration::minutes(1));
        assert_eq!(overdue_total(&w.store).await.unwrap(), 1, "{b}");
        assert_eq!(
            overdue_in_community(&w.store, &w.community).await.unwrap(),
            1
        );
        let q = queue(&w.store, &w.community, &admin).await.unwrap();
        assert_eq!(q.overdue, 1);
        assert_eq!(q.open.len(), 1);
        assert!(q.open[0].overdue);
        assert_eq!(q.open[0].request.id, waiting.id);
        assert_eq!(q.open[0].member_name, "Name of US");
        assert_eq!(q.answered.len(), 1, "{b}");
        assert!(
            !q.answered[0].overdue,
            "{b}: answered requests are never overdue"
        );
    }
}

#[tokio::test]
async fn members_and_communities_never_reach_each_others_requests() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, json!({})).await;
        let admin = join(&w, "UADMIN", Role::Admin).await;
        let s1 = join(&w, "US1", Role::Student).await;
        let s2 = join(&w, "US2", Role::Student).await;
        let r1 = open_request(&w.store, &w.community, &s1, Kind::Access, Some("mine"))
            .await
            .unwrap();
        open_request(&w.store, &w.community, &s2, Kind::Access, None)
            .await
            .unwrap();

        // s2 sees only their own and cannot cancel s1's.
        let mine = my_requests(&w.store, &w.community, &s2).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert!(mine.iter().all(|r| r.member_id == s2), "{b}");
        assert!(matches!(
            cancel_request(&w.store, &w.community, &s2, &r1.id).await,
            Err(RequestError::NotFound)
        ));

        // Another community: its Admin cannot see or answer, its id finds nothing here.
        let other = community(&w.store, json!({}), "T2").await;
        let w2 = World {
            store: w.store.clone(),
            clock: w.clock.clone(),
            community: other.clone(),
            key_text: w.key_text.clone(),
        };
        let admin_b = join(&w2, "UADMINB", Role::Admin).await;
        let actions = Recorder::default();
        assert!(matches!(
            approve_request(&w.store, &actions, &other, &admin_b, &r1.id, None).await,
            Err(RequestError::NotFound)
        ));
        assert!(matches!(
            decline_request(&w.store, &other, &admin_b, &r1.id, "no").await,
            Err(RequestError::NotFound)
        ));
        // An Admin of A acting on B's scope is not B's Admin.
        assert!(matches!(
            approve_request(&w.store, &actions, &other, &admin, &r1.id, None).await,
            Err(RequestError::NotFound)
        ));
        assert!(queue(&w.store, &other, &admin_b)
            .await
            .unwrap()
            .open
            .is_empty());
        // A member of B cannot open a request in A.
        assert!(matches!(
            open_request(&w.store, &w.community, &admin_b, Kind::Access, None).await,
            Err(RequestError::NotFound)
        ));
        assert!(actions.calls().is_empty(), "{b}");
        assert_eq!(
            queue(&w.store, &w.community, &admin)
                .await
                .unwrap()
                .open
                .len(),
            2
        );
    }
}
