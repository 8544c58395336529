//! The class the browser tests look at: the demo class (`classcred::demo`), the people who sign
//! in (an Admin, an Instructor, two students), the facts the node scripts check against, and
//! what this side reads from and does to the store between scripts.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use classcred_crypto::LoginKey;
use classcred_engine::{Event, MemberId, MessagePosted, Points};
use classcred_store::audit::AuditEntry;
use classcred_store::{CommunityId, Member, MemberKind, NewMember, Role, Store};

pub struct Class {
    pub community: CommunityId,
    pub admin: Member,
    pub instructor: Member,
    /// The student with the most points: has data everywhere.
    pub student: Member,
    /// Another recognised student.
    pub student2: Member,
    student_points: Points,
    students: usize,
    login_key: LoginKey,
    /// A student who neither gave nor received a fire.
    isolated: Option<Member>,
}

/// What a form could change: compared before and after a refused submission.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub settings_json: String,
    pub daily_quota: u64,
    pub audit_entries: usize,
    pub pending_inbox: i64,
    pub ledger_entries: usize,
}

fn names(m: &Member) -> String {
    // The pages may show the full name or the display name; the scripts accept either.
    [m.profile.name.clone(), m.profile.display_name.clone()]
        .into_iter()
        .flatten()
        .filter(|n| !n.trim().is_empty())
        .collect::<Vec<_>>()
        .join("|")
}

impl Class {
    /// Creates the demo class in `store` and picks the people.
    pub async fn demo(store: &Store) -> Class {
        let summary = classcred::demo::create(store).await.unwrap();
        let community = summary.community_id;
        let mut tx = store.begin().await.unwrap();
        let mut scoped = tx.for_community(&community);
        let members = scoped.list_members().await.unwrap();
        let balances = scoped.balances().await.unwrap();
        let ledger = scoped.ledger().await.unwrap();
        tx.commit().await.unwrap();
        let earned = |m: &Member| {
            balances
                .iter()
                .find(|b| b.member_id == m.id)
                .map_or(0, |b| b.earned_milli)
        };
        let with_role = |role: Role| {
            members
                .iter()
                .filter(move |m| m.role == role && m.kind == MemberKind::Human)
                .cloned()
        };
        let mut students: Vec<Member> = with_role(Role::Student).collect();
        students.sort_by_key(|m| std::cmp::Reverse(earned(m)));
        let connected: HashSet<&str> = ledger
            .iter()
            .filter_map(|e| {
                e.entry
                    .giver_member_id
                    .as_deref()
                    .map(|g| [g, e.entry.member_id.as_str()])
            })
            .flatten()
            .collect();
        let isolated = students
            .iter()
            .find(|m| !connected.contains(m.id.as_str()))
            .cloned();
        Class {
            community,
            admin: with_role(Role::Admin)
                .next()
                .expect("the demo has an Admin"),
            instructor: with_role(Role::Instructor)
                .next()
                .expect("the demo has an Instructor"),
            student_points: Points::from_thousandths(earned(&students[0])),
            student: students[0].clone(),
            student2: students[1].clone(),
            students: students.len(),
            login_key: store.login_key(),
            isolated,
        }
    }

    /// Environment for a node script: a fresh login link for each of `links` (`ADMIN`,
    /// `INSTRUCTOR`, `STUDENT`, `STUDENT2`) and the facts about the class.
    pub fn facts(&self, base: &str, links: &[&str]) -> Vec<(&'static str, String)> {
        let now = Utc::now().timestamp();
        let key = |m: &Member| {
            classcred_service::login::issue_login_link(
                &self.login_key,
                base,
                &self.community,
                &m.id,
                now,
            )
        };
        let mut vars = vec![
            ("BASE_URL", base.to_string()),
            ("STUDENT_ID", self.student.id.to_string()),
            ("STUDENT_NAME", names(&self.student)),
            ("STUDENT2_ID", self.student2.id.to_string()),
            ("STUDENT2_NAME", names(&self.student2)),
            ("STUDENT_POINTS", self.student_points.to_string()),
            ("STUDENT_COUNT", self.students.to_string()),
        ];
        if let Some(m) = &self.isolated {
            vars.push(("ISOLATED_NAME", names(m)));
        }
        for who in links {
            let (name, member) = match *who {
                "ADMIN" => ("LINK_ADMIN", &self.admin),
                "INSTRUCTOR" => ("LINK_INSTRUCTOR", &self.instructor),
                "STUDENT" => ("LINK_STUDENT", &self.student),
                "STUDENT2" => ("LINK_STUDENT2", &self.student2),
                other => panic!("no login link for {other}"),
            };
            vars.push((name, key(member)));
        }
        vars
    }

    /// The community's audit entries, oldest first.
    pub async fn audit_entries(&self, store: &Store) -> Vec<AuditEntry> {
        store.audit_entries(Some(&self.community)).await.unwrap()
    }

    pub async fn snapshot(&self, store: &Store) -> Snapshot {
        let audit_entries = self.audit_entries(store).await.len();
        let mut tx = store.begin().await.unwrap();
        let settings_json = tx.community(&self.community).await.unwrap().settings_json;
        let mut scoped = tx.for_community(&self.community);
        let pending_inbox = scoped.pending_inbox_count().await.unwrap();
        let ledger_entries = scoped.ledger().await.unwrap().len();
        tx.commit().await.unwrap();
        let daily_quota = serde_json::from_str::<serde_json::Value>(&settings_json).unwrap()
            ["daily_quota"]
            .as_u64()
            .expect("the settings name a daily quota");
        Snapshot {
            settings_json,
            daily_quota,
            audit_entries,
            pending_inbox,
            ledger_entries,
        }
    }

    /// Waits (bounded) until the engine has applied a daily quota of `quota`.
    pub async fn wait_for_quota(&self, store: &Store, quota: u64, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let now = self.snapshot(store).await;
            if now.daily_quota == quota {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the quota set in the browser was not applied: settings {}",
                now.settings_json
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A new student gives more fires than `quota` in one message, through the same path a
    /// platform delivery takes (inbox, then the engine): exactly `quota` count.
    pub async fn give_obeys_quota(&self, store: &Store, quota: u64) {
        let giver = "UBROWSERGIVER";
        let mut tx = store.begin().await.unwrap();
        classcred_service::join_member(
            &mut tx,
            &self.community,
            classcred::demo::DEMO_PLATFORM,
            &NewMember {
                platform_user_id: giver.into(),
                role: Role::Student,
                kind: MemberKind::Human,
                profile: classcred_store::MemberProfile::default(),
            },
            Utc::now() - chrono::Duration::hours(1),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        classcred_service::drain(store, &self.community)
            .await
            .unwrap();
        let left = |s: Option<classcred_service::MemberSummary>| {
            s.expect("the giver is a member").quota_left_today
        };
        let before = classcred_service::member_summary(store, &self.community, giver).await;
        assert_eq!(
            left(before.unwrap()),
            Some(u32::try_from(quota).unwrap()),
            "a new student may give the quota set in the browser today"
        );
        let fires = quota + 3;
        let message_id = "CBROWSER:quota-check";
        let event = Event::MessagePosted(MessagePosted {
            platform_message_id: message_id.into(),
            author: MemberId::new(giver),
            mentions: vec![MemberId::new(self.student.platform_user_id.clone())],
            fire_count: u32::try_from(fires).unwrap(),
            text: format!(
                "<@{}> thanks for the walkthrough {}",
                self.student.platform_user_id,
                ":fire: ".repeat(usize::try_from(fires).unwrap())
            ),
            thread: None,
            occurred_at: Utc::now(),
        });
        let mut tx = store.begin().await.unwrap();
        classcred_service::ingest(
            &mut tx,
            &self.community,
            classcred::demo::DEMO_PLATFORM,
            "browser-quota-check",
            &event,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        classcred_service::drain(store, &self.community)
            .await
            .unwrap();
        let after = classcred_service::member_summary(store, &self.community, giver).await;
        assert_eq!(left(after.unwrap()), Some(0), "the quota is used up");
        let mut tx = store.begin().await.unwrap();
        let ledger = tx.for_community(&self.community).ledger().await.unwrap();
        tx.commit().await.unwrap();
        let counted: i64 = ledger
            .iter()
            .filter(|e| {
                e.entry.source_ref.as_deref() == Some(message_id)
                    && e.entry.member_id == self.student.id.as_str()
            })
            .map(|e| e.entry.fire_units)
            .sum();
        assert_eq!(
            counted,
            i64::try_from(quota).unwrap(),
            "of {fires} fires given, the new quota of {quota} count"
        );
    }
}
