//! `classcred demo`: a realistic demo class, built through the path a platform delivery takes.
//!
//! An Admin, an Instructor, 40 students and a bot join; six weeks of course follow (see
//! `timeline.rs`): messages with fire and feedback, 🔥 reactions, taxed gifts between close
//! friends, edits and deletes, three isolated students and one closed pair; in week 3 the Admin
//! raises the daily quota through [`classcred_service::changes::change_settings`] (the
//! dashboard's path); each ended week is closed (weekly badges). Every event goes into the inbox
//! ([`ingest`]) and is processed by the engine ([`drain`]) in time order; no ledger row is
//! written directly, so `ledger replay` reproduces the result.
//!
//! Deterministic: every time is an offset from one anchor (the Monday six weeks before the
//! current week, in the community's timezone) and each day's events come from an RNG seeded
//! with the day's number, so the six complete weeks are the same on every run; the current
//! week adds the days before today. Idempotent: a second run finds the
//! demo community and changes nothing.

mod polls;
mod roster;
mod store;
mod timeline;

use std::fmt;

use anyhow::Context;
use chrono::Duration;
use classcred_engine::{CommunitySettings, GiftTax, TaxBracket, Timezone};
use classcred_service::changes::change_settings;
use classcred_service::{drain, ingest, join_member, record_week_closing};
use classcred_store::audit::AuditRecord;
use classcred_store::{CommunityId, MemberRowId, NewCommunity, Store, Tx};

pub use roster::{
    student_uid, ADMIN_UID, BOT_UID, CLOSED_PAIR, INSTRUCTOR_UID, ISOLATED, STUDENTS,
};
use timeline::{Step, COURSE_WEEKS, QUOTA_AFTER, QUOTA_BEFORE};

pub const DEMO_PLATFORM: &str = "demo";
pub const DEMO_TEAM: &str = "DEMO-CS101";
/// The community's timezone.
pub const DEMO_TIMEZONE: &str = "America/New_York";
/// The seed of the demo's events.
const DEMO_SEED: u64 = 101;
/// The student whose sign-in link the demo prints (active, recognised, with badges).
pub const DEMO_STUDENT_UID: &str = "UDEMO000001";

/// What `demo` did.
pub struct DemoSummary {
    pub community_id: CommunityId,
    pub created: bool,
    pub members: usize,
    pub messages: usize,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.created {
            "created"
        } else {
            "already present"
        };
        write!(
            f,
            "demo community {} {verb}: {} members, {} messages",
            self.community_id, self.members, self.messages
        )
    }
}

/// The demo's settings at the start of the course: quota 3, gift tax from the 5th fire a week
/// to the same classmate.
fn initial_settings(tz: Timezone, course_start: chrono::NaiveDate) -> CommunitySettings {
    CommunitySettings {
        timezone: tz,
        course_start: Some(course_start),
        daily_quota: QUOTA_BEFORE,
        gift_tax: GiftTax {
            enabled: true,
            applies_to_instructors: false,
            brackets: vec![
                TaxBracket {
                    from: 1,
                    rate_percent: 0,
                },
                TaxBracket {
                    from: 5,
                    rate_percent: 50,
                },
                TaxBracket {
                    from: 8,
                    rate_percent: 90,
                },
            ],
        },
        ..CommunitySettings::default()
    }
}

/// Create the demo class unless it exists. Idempotent.
pub async fn create(store: &Store) -> anyhow::Result<DemoSummary> {
    let mut tx = store.begin().await?;
    if let Some(c) = tx.community_by_team(DEMO_PLATFORM, DEMO_TEAM).await? {
        let members = tx.for_community(&c.id).list_members().await?.len();
        let messages = tx.for_community(&c.id).list_messages().await?.len();
        tx.commit().await?;
        return Ok(DemoSummary {
            community_id: c.id,
            created: false,
            members,
            messages,
        });
    }
    let now = store.clock().now();
    let tz = Timezone::parse(DEMO_TIMEZONE)?;
    // The anchor: the Monday six weeks before the current week's. The six complete weeks are
    // the same on every run; the current week holds the days before today.
    let today = tz.local_date(now);
    let this_monday = today
        - Duration::days(i64::from(
            chrono::Datelike::weekday(&today).num_days_from_monday(),
        ));
    let course_start = this_monday - Duration::weeks(COURSE_WEEKS);
    let anchor = tz.start_of(course_start);
    let settings = initial_settings(tz, course_start);
    let inst = tx.create_institution("Riverbend Community College").await?;
    let community = tx
        .create_community(NewCommunity {
            institution_id: inst.id,
            name: "CS 101: Introduction to Programming (demo)".into(),
            platform: DEMO_PLATFORM.into(),
            platform_team_id: Some(DEMO_TEAM.into()),
            settings_json: serde_json::to_string(&settings)?,
        })
        .await?;
    let cid = community.id.clone();
    let members = roster::members();
    for m in &members {
        // Everyone joined the day before the course started.
        join_member(&mut tx, &cid, DEMO_PLATFORM, m, anchor - Duration::days(1)).await?;
    }
    tx.commit().await.context("saving the demo class")?;
    drain(store, &cid).await.context("processing the joins")?;
    let (admin, _) = sign_in_members(store, &cid).await?;

    let course = timeline::build(DEMO_SEED, &tz, course_start, now);
    let mut batch: Option<Tx<'_>> = None;
    for (at, step) in course.steps {
        match step {
            Step::Deliver(id, event) => {
                let tx = match &mut batch {
                    Some(tx) => tx,
                    None => batch.insert(store.begin().await?),
                };
                ingest(tx, &cid, DEMO_PLATFORM, &id, &event).await?;
            }
            Step::RaiseQuota => {
                settle(store, &cid, batch.take()).await?;
                let mut raised = settings.clone();
                raised.daily_quota = QUOTA_AFTER;
                let change = change_settings(store, &cid, &admin, raised, at)
                    .await
                    .context("raising the demo's quota")?;
                anyhow::ensure!(change.applied, "the demo's quota raise was not applied");
            }
            Step::CloseWeek(week) => {
                settle(store, &cid, batch.take()).await?;
                let mut tx = store.begin().await?;
                record_week_closing(&mut tx, &cid, week, at).await?;
                tx.commit().await?;
                drain(store, &cid).await?;
            }
        }
    }
    settle(store, &cid, batch.take()).await?;
    announcements(store, &cid, &admin, &tz, now).await?;
    store::fill(store, &cid, &admin, now)
        .await
        .context("filling the demo's store")?;
    polls::fill(store, &cid, &admin, now)
        .await
        .context("filling the demo's polls")?;
    store
        .audit(&AuditRecord {
            community_id: Some(cid.clone()),
            actor: "operator:cli".into(),
            action: "demo.create".into(),
            subject: None,
            details: serde_json::json!({ "members": members.len(), "messages": course.messages }),
        })
        .await?;
    Ok(DemoSummary {
        community_id: cid,
        created: true,
        members: members.len(),
        messages: course.messages,
    })
}

/// Two announcements: one posted last Monday, one scheduled for next Monday 09:00 (the demo
/// has no chat platform: when its time comes it is marked "not posted").
async fn announcements(
    store: &Store,
    cid: &CommunityId,
    admin: &classcred_store::MemberRowId,
    tz: &Timezone,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    use classcred_store::AnnouncementState;
    let today = tz.local_date(now);
    let monday = today
        - Duration::days(i64::from(
            chrono::Datelike::weekday(&today).num_days_from_monday(),
        ));
    let nine = |d: chrono::NaiveDate| (tz.start_of(d) + Duration::hours(9)).timestamp_millis();
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(cid);
    let past = scoped
        .insert_announcement(
            "C-demo-general",
            "Welcome to week 7! Lab 6 is due Friday; office hours move to Thursday 3 pm.",
            nine(monday),
            admin,
        )
        .await?;
    scoped
        .begin_announcement_post(&past.id, past.version)
        .await?;
    scoped
        .end_announcement_post(&past.id, AnnouncementState::Sent, Some("demo-posted-1"))
        .await?;
    let next = scoped
        .insert_announcement(
            "C-demo-general",
            "Quiz 3 is on Wednesday: loops and functions. Bring questions to Tuesday's review.",
            nine(monday + Duration::days(7)),
            admin,
        )
        .await?;
    tx.enqueue(&classcred_service::announcements::post_job(&next))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Commit a batch of deliveries and process them (and everything before them).
async fn settle(store: &Store, cid: &CommunityId, batch: Option<Tx<'_>>) -> anyhow::Result<()> {
    if let Some(tx) = batch {
        tx.commit().await.context("saving demo events")?;
    }
    drain(store, cid)
        .await
        .context("processing the demo events")?;
    Ok(())
}

/// The demo's Admin and the student whose sign-in links the demo prints.
pub async fn sign_in_members(
    store: &Store,
    community: &CommunityId,
) -> anyhow::Result<(MemberRowId, MemberRowId)> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community);
    let admin = scoped
        .member_id_by_platform(ADMIN_UID)
        .await?
        .context("the demo has no Admin")?;
    let student = scoped
        .member_id_by_platform(DEMO_STUDENT_UID)
        .await?
        .context("the demo has no student")?;
    tx.commit().await?;
    Ok((admin, student))
}
