//! The class the browser tests look at: the demo class (`classcred::demo`: 40 students, three
//! isolated, one closed pair), the people who sign in (its Admin, its Instructor, the student
//! whose link the demo prints and their friend), the facts the node scripts check against, and
//! what this side reads from and does to the store between scripts.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use classcred::demo;
use classcred_crypto::LoginKey;
use classcred_engine::{Event, MemberId, MessagePosted, Points};
use classcred_store::audit::AuditEntry;
use classcred_store::{CommunityId, Member, MemberKind, MemberRowId, NewMember, Role, Store};

pub struct Class {
    pub community: CommunityId,
    pub admin: Member,
    pub instructor: Member,
    /// The student whose sign-in link the demo prints: active, recognised, with badges.
    pub student: Member,
    /// Another recognised student (a close friend of `student`).
    pub student2: Member,
    student_points: Points,
    students: usize,
    login_key: LoginKey,
    /// The students who neither gave nor received a fire.
    isolated: Vec<Member>,
    /// The two students who recognise only each other.
    closed_pair: [Member; 2],
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

/// The name a teacher knows the member by: the full name (the demo's display names are
/// lowercase handles such as "amara", which the pages must not show in its place).
fn name_of(m: &Member) -> String {
    m.profile
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .expect("every demo member has a full name")
}

impl Class {
    /// Creates the demo class in `store` and picks the people by the demo's own constants.
    pub async fn demo(store: &Store) -> Class {
        let summary = demo::create(store).await.unwrap();
        let community = summary.community_id;
        let (admin_id, student_id) = demo::sign_in_members(store, &community).await.unwrap();
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
        let by_uid = |uid: &str| -> Member {
            members
                .iter()
                .find(|m| m.platform_user_id == uid)
                .cloned()
                .unwrap_or_else(|| panic!("the demo has a member {uid}"))
        };
        let by_id = |id: &MemberRowId| -> Member {
            members
                .iter()
                .find(|m| &m.id == id)
                .cloned()
                .expect("a demo member")
        };
        let student = by_id(&student_id);
        // Index 0 is the demo's student; index 1 their close friend.
        assert_eq!(student.platform_user_id, demo::student_uid(0));
        let student2 = by_uid(&demo::student_uid(1));
        let isolated: Vec<Member> = demo::ISOLATED
            .iter()
            .map(|&i| by_uid(&demo::student_uid(i)))
            .collect();
        let closed_pair = [
            by_uid(&demo::student_uid(demo::CLOSED_PAIR.0)),
            by_uid(&demo::student_uid(demo::CLOSED_PAIR.1)),
        ];
        // The facts hold in the store, not only in the demo's constants.
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
        for m in &isolated {
            assert!(!connected.contains(m.id.as_str()), "{} is isolated", m.id);
        }
        assert!(earned(&student) > 0 && earned(&student2) > 0);
        let students = members
            .iter()
            .filter(|m| m.role == Role::Student && m.kind == MemberKind::Human)
            .count();
        assert_eq!(students, demo::STUDENTS);
        Class {
            community,
            admin: by_id(&admin_id),
            instructor: by_uid(demo::INSTRUCTOR_UID),
            student_points: Points::from_thousandths(earned(&student)),
            student,
            student2,
            students,
            login_key: store.login_key(),
            isolated,
            closed_pair,
        }
    }

    /// Environment for a node script: a fresh login link for each of `links` (`ADMIN`,
    /// `ADMIN_SPARE` (a second link for the Admin), `INSTRUCTOR`, `STUDENT`, `STUDENT2`) and the
    /// facts about the class.
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
        let isolated: Vec<String> = self.isolated.iter().map(name_of).collect();
        let pair: Vec<String> = self.closed_pair.iter().map(name_of).collect();
        let mut vars = vec![
            ("BASE_URL", base.to_string()),
            ("STUDENT_ID", self.student.id.to_string()),
            ("STUDENT_NAME", name_of(&self.student)),
            ("STUDENT2_ID", self.student2.id.to_string()),
            ("STUDENT2_NAME", name_of(&self.student2)),
            ("STUDENT_POINTS", self.student_points.to_string()),
            ("STUDENT_COUNT", self.students.to_string()),
            ("ISOLATED_NAMES", isolated.join("|")),
            ("PAIR_NAMES", pair.join("|")),
        ];
        for who in links {
            let (name, member) = match *who {
                "ADMIN" => ("LINK_ADMIN", &self.admin),
                "ADMIN_SPARE" => ("LINK_ADMIN_SPARE", &self.admin),
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

    /// A new student gives fire through the same path a platform delivery takes (inbox, then
    /// the engine), whose gives are all-or-nothing: one fire more than `quota` in one message is
    /// refused whole (under the old, larger quota it would count), exactly `quota` fires count,
    /// and then the quota is used up.
    pub async fn give_obeys_quota(&self, store: &Store, quota: u64, old_quota: u64) {
        assert!(
            quota < old_quota,
            "the check needs a lower quota than before"
        );
        let giver = "UBROWSERGIVER";
        let mut tx = store.begin().await.unwrap();
        classcred_service::join_member(
            &mut tx,
            &self.community,
            demo::DEMO_PLATFORM,
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
        let left = || async {
            classcred_service::member_summary(store, &self.community, giver)
                .await
                .unwrap()
                .expect("the giver is a member")
                .quota_left_today
                .map(u64::from)
        };
        assert_eq!(
            left().await,
            Some(quota),
            "a new student may give the quota set in the browser today"
        );

        let over = self.give(store, giver, "over", quota + 1).await;
        assert_eq!(
            over,
            0,
            "{} fires are over the new quota of {quota}: none count",
            quota + 1
        );
        assert_eq!(left().await, Some(quota), "a refused give uses no quota");

        let within = self.give(store, giver, "within", quota).await;
        assert_eq!(
            within,
            i64::try_from(quota).unwrap(),
            "the new quota's worth counts"
        );
        assert_eq!(left().await, Some(0), "the quota is used up");
    }

    /// `giver` thanks `student` with `fires` 🔥 in one message; returns the fire units the
    /// ledger counted for it.
    async fn give(&self, store: &Store, giver: &str, name: &str, fires: u64) -> i64 {
        let message_id = format!("CBROWSER:quota-{name}");
        let to = &self.student.platform_user_id;
        let event = Event::MessagePosted(MessagePosted {
            is_question: false,
            channel: None,
            platform_message_id: message_id.clone(),
            author: MemberId::new(giver),
            mentions: vec![MemberId::new(to.clone())],
            fire_count: u32::try_from(fires).unwrap(),
            text: format!(
                "<@{to}> thanks for the walkthrough {}",
                ":fire: ".repeat(usize::try_from(fires).unwrap())
            ),
            thread: None,
            occurred_at: Utc::now(),
        });
        let mut tx = store.begin().await.unwrap();
        classcred_service::ingest(
            &mut tx,
            &self.community,
            demo::DEMO_PLATFORM,
            &format!("browser-quota-{name}"),
            &event,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        classcred_service::drain(store, &self.community)
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        let ledger = tx.for_community(&self.community).ledger().await.unwrap();
        tx.commit().await.unwrap();
        ledger
            .iter()
            .filter(|e| {
                e.entry.source_ref.as_deref() == Some(message_id.as_str())
                    && e.entry.member_id == self.student.id.as_str()
            })
            .map(|e| e.entry.fire_units)
            .sum()
    }
}
