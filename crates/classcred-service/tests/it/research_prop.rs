//! Property: for random classes (members of each role with canary strings in every personal
//! field and in every message text, platform ids shaped like Slack and Matrix ids, fire over
//! several weeks, all through the real write paths: join, ingest, drain), every research
//! release written passes the validator, contains no canary, platform id, row id or community
//! id, accounts for every member (released or suppressed), and shares no pseudonym with a
//! second release of the same class: on SQLite and PostgreSQL.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::Duration;
use classcred_engine::{Event, MemberId, MessagePosted};
use classcred_service::join_member;
use classcred_service::research::{self, Limits, ReleaseTable, Stage};
use classcred_store::testing::TestDb;
use classcred_store::{MemberKind, MemberProfile, MemberRowId, NewMember, Role};
use proptest::prelude::*;
use serde_json::json;

use crate::common::*;

fn canary(label: &str) -> String {
    format!("canary{label}{}", uuid::Uuid::new_v4().simple())
}

#[derive(Debug, Clone)]
struct Give {
    author: usize,
    to: Vec<usize>,
    week: i64,
    day: i64,
    fires: u32,
}

#[derive(Debug, Clone)]
struct Class {
    students: usize,
    instructors: usize,
    admins: usize,
    matrix_ids: Vec<bool>,
    gives: Vec<Give>,
}

fn class() -> impl Strategy<Value = Class> {
    (3..28usize, 0..3usize, 1..3usize).prop_flat_map(|(students, instructors, admins)| {
        let n = students + instructors + admins;
        let give = (
            0..n,
            prop::collection::vec(0..n, 1..4),
            0..6i64,
            0..5i64,
            1..4u32,
        )
            .prop_map(|(author, to, week, day, fires)| Give {
                author,
                to,
                week,
                day,
                fires,
            });
        (
            prop::collection::vec(any::<bool>(), n),
            prop::collection::vec(give, 0..160),
        )
            .prop_map(move |(matrix_ids, gives)| Class {
                students,
                instructors,
                admins,
                matrix_ids,
                gives,
            })
    })
}

/// Seed the class; returns every personal string of the source (canaries, platform ids, row
/// ids, the community id).
async fn seed(w: &World, c: &Class) -> Vec<String> {
    let mut personal = vec![w.community.to_string()];
    let n = c.students + c.instructors + c.admins;
    let mut uids = Vec::new();
    for i in 0..n {
        let role = if i < c.students {
            Role::Student
        } else if i < c.students + c.instructors {
            Role::Instructor
        } else {
            Role::Admin
        };
        let hex = uuid::Uuid::new_v4().simple().to_string();
        let uid = if c.matrix_ids[i] {
            format!("@canary{}:matrix.org", &hex[..10])
        } else {
            format!("U{}", hex[..10].to_uppercase())
        };
        let profile = MemberProfile {
            name: Some(canary("name")),
            display_name: Some(canary("display")),
            email: Some(format!("{}@example.edu", canary("email"))),
            avatar_url: Some(format!("https://example.edu/{}", canary("avatar"))),
            timezone: Some(canary("tz")),
        };
        personal.extend(
            [
                &profile.name,
                &profile.display_name,
                &profile.email,
                &profile.avatar_url,
                &profile.timezone,
            ]
            .into_iter()
            .flatten()
            .cloned(),
        );
        let mut tx = w.store.begin().await.unwrap();
        let id: MemberRowId = join_member(
            &mut tx,
            &w.community,
            "slack",
            &NewMember {
                platform_user_id: uid.clone(),
                role,
                kind: MemberKind::Human,
                profile,
            },
            at(2026, 1, 1, 0, 0, 0),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        personal.push(id.to_string());
        personal.push(uid.clone());
        uids.push(uid);
    }
    let base = at(2026, 3, 2, 9, 0, 0);
    for (i, g) in c.gives.iter().enumerate() {
        let text = canary("feedback");
        personal.push(text.clone());
        let msg = format!("C1:{}", canary("msg"));
        personal.push(msg.clone());
        let e = Event::MessagePosted(MessagePosted {
            is_question: false,
            channel: None,
            platform_message_id: msg,
            author: MemberId::new(uids[g.author].as_str()),
            mentions: g
                .to
                .iter()
                .map(|t| MemberId::new(uids[*t].as_str()))
                .collect(),
            fire_count: g.fires,
            text,
            thread: None,
            occurred_at: base + Duration::days(g.week * 7 + g.day) + Duration::minutes(i as i64),
        });
        deliver(w, &format!("ev{i}"), &e).await;
    }
    settle(w).await;
    personal
}

fn read_release(dir: &Path) -> (Vec<ReleaseTable>, String) {
    let mut tables = Vec::new();
    let mut all = String::new();
    for spec in research::schema::TABLES {
        let text = std::fs::read_to_string(dir.join(spec.file_name())).unwrap();
        all.push_str(&text);
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let columns = r.headers().unwrap().iter().map(str::to_owned).collect();
        let rows = r
            .records()
            .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
            .collect();
        tables.push(ReleaseTable {
            name: spec.name.into(),
            columns,
            rows,
        });
    }
    all.push_str(&std::fs::read_to_string(dir.join("README.txt")).unwrap());
    (tables, all)
}

async fn check(db: &TestDb, c: &Class) -> Result<(), TestCaseError> {
    let w = world(
        db,
        json!({ "timezone": "UTC", "daily_quota": 50, "limit_instructors": false }),
    )
    .await;
    let personal = seed(&w, c).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut pseudonym_sets = Vec::new();
    for n in 0..2 {
        let dir = tmp.path().join(format!("release-{n}"));
        let mut members_read = 0;
        let release = research::build_release(&w.store, &w.community, 5, &mut |s| {
            if let Stage::Read { members, .. } = s {
                members_read = members;
            }
        })
        .await
        .unwrap();
        research::write_dir(&release, &dir).unwrap();
        let (tables, all) = read_release(&dir);
        let v = research::validator::validate(&tables, &Limits { k: 5, min_cell: 10 });
        prop_assert!(v.is_ok(), "{} refused: {:?}", db.backend(), v);
        for p in &personal {
            prop_assert!(!all.contains(p.as_str()), "{p} leaked ({})", db.backend());
        }
        prop_assert!(
            !all.contains("canary"),
            "a canary leaked ({})",
            db.backend()
        );
        prop_assert_eq!(members_read, c.students + c.instructors + c.admins);
        let members = release
            .counts()
            .into_iter()
            .find(|(t, _, _)| *t == "members")
            .unwrap();
        prop_assert_eq!(
            members.1 + members.2,
            members_read,
            "every member accounted for"
        );
        let pseudonyms: BTreeSet<String> = tables[3].rows.iter().map(|r| r[0].clone()).collect();
        prop_assert_eq!(pseudonyms.len(), members.1);
        pseudonym_sets.push(pseudonyms);
    }
    prop_assert!(
        pseudonym_sets[0].is_disjoint(&pseudonym_sets[1]),
        "two releases share a pseudonym"
    );
    w.store.close().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]
    #[test]
    fn every_release_passes_the_validator_and_leaks_nothing(c in class()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let sqlite = TestDb::sqlite().await;
            check(&sqlite, &c).await?;
            if let Some(pg) = TestDb::postgres().await {
                check(&pg, &c).await?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

/// A class big enough that every table releases rows: the release is not trivially empty.
#[tokio::test]
async fn a_busy_class_releases_rows_in_every_table() {
    for db in TestDb::all().await {
        let gives = (0..400)
            .map(|i| Give {
                author: i % 30,
                to: vec![(i * 7 + 3) % 30],
                week: (i % 4) as i64,
                day: (i % 5) as i64,
                fires: 1,
            })
            .collect();
        let c = Class {
            students: 30,
            instructors: 1,
            admins: 1,
            matrix_ids: (0..32).map(|i| i % 2 == 0).collect(),
            gives,
        };
        let w = world(
            &db,
            json!({ "timezone": "UTC", "daily_quota": 50, "limit_instructors": false }),
        )
        .await;
        let personal = seed(&w, &c).await;
        let release = research::build_release(&w.store, &w.community, 5, &mut |_| {})
            .await
            .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        research::write_dir(&release, tmp.path()).unwrap();
        let (tables, all) = read_release(tmp.path());
        for t in &tables {
            assert!(!t.rows.is_empty(), "{} has rows ({})", t.name, db.backend());
        }
        // The lone admin and instructor: never in an aggregate cell, never identifiable.
        for t in &tables[..3] {
            assert!(
                t.rows
                    .iter()
                    .all(|r| !r.contains(&"admin".to_owned())
                        && !r.contains(&"instructor".to_owned())),
                "{}",
                t.name
            );
        }
        assert!(tables[3].rows.iter().all(|r| r[1] != "admin"));
        for p in &personal {
            assert!(!all.contains(p.as_str()));
        }
        // Writing into a non-empty directory is refused.
        assert!(research::write_dir(&release, tmp.path()).is_err());

        // An erased member is never read again: not in any table, not counted.
        let mut tx = w.store.begin().await.unwrap();
        let before = tx
            .for_community(&w.community)
            .research_members()
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(before.len(), 32);
        let erased = before
            .iter()
            .find(|m| m.role == "student")
            .unwrap()
            .id
            .clone();
        classcred_service::erasure::erase_now(
            &w.store,
            &classcred_service::receipt::ReceiptSigner::generate(),
            &w.community,
            classcred_service::erasure::ErasureTarget::Member(erased.clone()),
            &mut |_, _| {},
        )
        .await
        .unwrap();
        let mut read = 0;
        let after = research::build_release(&w.store, &w.community, 5, &mut |s| {
            if let Stage::Read { members, .. } = s {
                read = members;
            }
        })
        .await
        .unwrap();
        assert_eq!(read, 31, "{}", db.backend());
        let (_, rows, suppressed) = after
            .counts()
            .into_iter()
            .find(|(t, _, _)| *t == "members")
            .unwrap();
        assert_eq!(rows + suppressed, 31);
        let mut tx = w.store.begin().await.unwrap();
        let fires = tx
            .for_community(&w.community)
            .research_fires()
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(!fires.is_empty());
        assert!(fires
            .iter()
            .all(|f| f.giver != erased && f.recipient != erased));
        w.store.close().await;
    }
}
