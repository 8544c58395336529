//! Retention schedules (issue 9): how long each community keeps what, a dry run that says what
//! would go and when ([`preview`]), and the daily expiry job that does exactly that
//! ([`run_community`], [`run_all`], job [`RETENTION_JOB`]).
//!
//! Four rules, per community (defaults when the Admin set nothing, see [`RetentionValues`]):
//! 1. **inbox** — processed inbox payloads are scrubbed `inbox_days` after processing;
//! 2. **text** — message text, feedback notes and purchase reasons (`classcred_store::TEXT_COLUMNS`) are removed `text_days_after_course_end` days
//!    after the course end date (the end of that local day in the community's timezone); from
//!    then on, text older than that many days goes every day. No course end date: nothing goes
//!    by this rule, and the preview says so;
//! 3. **inactive members** — a member with no message, no ledger activity as giver or receiver
//!    (fire by message or reaction, adjustments, awards) and no dashboard sign-in for
//!    `inactive_member_days` is erased;
//! 4. **disabled community** — a community disabled (uninstalled, tokens revoked) for
//!    `disabled_community_days` is erased, unless it was re-enabled meanwhile.
//!
//! Besides, [`run_all`] deletes device and network data (sign-in records) older than 30 days,
//! for every community (the operator's `device_data` setting, not a community's schedule).
//!
//! Everything reads the store's clock. [`preview`] and [`run_community`] share one planning
//! function, so a run at the time a preview was made for does what the preview listed.
//!
//! The text rule is this module's own store primitive ([`Store::purge_text_before`]). Scrubbing
//! inbox payloads and erasing members and communities belong to the key store and the erasure
//! requests; they are reached through [`RetentionActions`] so the rules are testable alone.

use crate::erasure::{ErasureError, ErasureOrigin, ErasureTarget};
use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use classcred_engine::CommunitySettings;
use classcred_store::audit::AuditRecord;
use classcred_store::jobs::NewJob;
use classcred_store::{
    CommunityId, CommunityState, MemberRowId, RetentionValues, Store, StoreError, TextCounts,
};
use serde::Serialize;
use serde_json::json;

/// Job kind of the daily expiry run over every community (payload `{"day": "YYYY-MM-DD"}`).
pub const RETENTION_JOB: &str = "retention.run";

/// Rows per transaction when removing text.
pub const TEXT_BATCH: u32 = 500;

const DAY_MS: i64 = 86_400_000;

/// The allowed range of each value, in days: (field, label, min, max).
///
/// The maxima keep the schedule inside what an institution's agreement can sensibly allow: a
/// processing buffer is not an archive (≤ 1 year), course text is not kept more than 5 years
/// after the course, inactive accounts go within 10 years, and a disabled community goes within
/// the 30 days the privacy policy promises for removal.
pub const LIMITS: [(&str, &str, i64, i64); 4] = [
    ("inbox_days", "Processed chat deliveries", 1, 365),
    (
        "text_days_after_course_end",
        "Message and feedback text after the course end",
        0,
        1825,
    ),
    ("inactive_member_days", "Inactive members", 30, 3650),
    ("disabled_community_days", "Disabled community", 1, 30),
];

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("community {community_id} has invalid settings: {problem}")]
    Settings {
        community_id: String,
        problem: String,
    },
    /// One message per invalid field (never echoing more than the number given).
    #[error("invalid retention schedule: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// An erasure or key-store primitive this build does not have.
    #[error("{0}")]
    Unavailable(String),
    /// A rule failed (the other rules still ran).
    #[error("retention of community {community_id}: {problems}")]
    Failed {
        community_id: String,
        problems: String,
    },
}

/// A rejected value of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// Check every value against [`LIMITS`]; all problems at once.
pub fn validate(values: &RetentionValues) -> Result<(), Vec<FieldError>> {
    let got = [
        values.inbox_days,
        values.text_days_after_course_end,
        values.inactive_member_days,
        values.disabled_community_days,
    ];
    let errors: Vec<FieldError> = LIMITS
        .iter()
        .zip(got)
        .filter(|((_, _, min, max), v)| v < min || v > max)
        .map(|((field, _, min, max), v)| FieldError {
            field,
            message: format!("{v} days is out of range: between {min} and {max} days"),
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Who changes a schedule (audited as its actor).
#[derive(Debug, Clone)]
pub enum Changer {
    Member(MemberRowId),
    Operator,
}

impl Changer {
    fn actor(&self) -> String {
        match self {
            Changer::Member(m) => format!("member:{m}"),
            Changer::Operator => "operator".into(),
        }
    }
}

/// A community's schedule as it applies: the stored values, or the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub values: RetentionValues,
    /// False while the community uses the defaults (nothing stored).
    pub stored: bool,
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
}

/// The schedule that applies to a community.
pub async fn policy(store: &Store, community: &CommunityId) -> Result<Policy, RetentionError> {
    let mut tx = store.begin().await?;
    tx.community(community).await?;
    let stored = tx.for_community(community).retention_policy().await?;
    tx.commit().await?;
    Ok(match stored {
        Some(p) => Policy {
            values: p.values,
            stored: true,
            updated_at: Some(p.updated_at),
            updated_by: Some(p.updated_by),
        },
        None => Policy {
            values: RetentionValues::default(),
            stored: false,
            updated_at: None,
            updated_by: None,
        },
    })
}

/// Validate and store a community's schedule, audited with the old and new values (numbers and
/// ids only).
pub async fn set_policy(
    store: &Store,
    community: &CommunityId,
    values: &RetentionValues,
    by: &Changer,
) -> Result<(), RetentionError> {
    validate(values).map_err(RetentionError::Invalid)?;
    let mut tx = store.begin().await?;
    tx.community(community).await?;
    let before = tx
        .for_community(community)
        .retention_policy()
        .await?
        .map_or_else(RetentionValues::default, |p| p.values);
    tx.for_community(community)
        .set_retention_policy(values, &by.actor())
        .await?;
    tx.audit(&AuditRecord {
        community_id: Some(community.clone()),
        actor: by.actor(),
        action: "retention.set".into(),
        subject: Some(format!("community:{community}")),
        details: json!({ "from": before, "to": values }),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The inbox rule at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxPlan {
    /// Payloads processed before this instant go.
    pub cut_ms: i64,
    pub payloads: u64,
    /// When the next payload kept now will go (its processing time + the window).
    pub next_ms: Option<i64>,
}

/// The text rule at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextPlan {
    pub course_end: Option<NaiveDate>,
    /// When the rule starts removing text (end of the course end day + the days); `None`
    /// without a course end date.
    pub starts_ms: Option<i64>,
    /// Text written before this instant goes now (`None`: nothing goes yet).
    pub cut_ms: Option<i64>,
    pub counts: TextCounts,
    /// Plain-language state of the rule.
    pub note: String,
}

/// The inactive-member rule at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InactivePlan {
    /// Members with no activity since this instant are erased.
    pub since_ms: i64,
    pub members: Vec<MemberRowId>,
}

/// The disabled-community rule at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommunityPlan {
    pub disabled_at: Option<i64>,
    /// When the community is erased if it stays disabled.
    pub erase_at_ms: Option<i64>,
    /// Erased by this run.
    pub due: bool,
}

/// What a retention run at `at_ms` does in one community: the preview, and the run's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub community_id: CommunityId,
    pub at_ms: i64,
    pub policy: RetentionValues,
    pub inbox: InboxPlan,
    pub text: TextPlan,
    pub inactive: InactivePlan,
    pub community: CommunityPlan,
}

/// What a run did (counts and ids only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub community_id: Option<CommunityId>,
    pub inbox_payloads: u64,
    pub text: TextCounts,
    pub members_erased: Vec<MemberRowId>,
    pub community_erased: bool,
}

/// The erasure and key-store operations the rules trigger. The product implementation calls
/// `Store::scrub_processed_inbox` and `erasure::request_erasure(…, ErasureOrigin::Retention,
/// None, Some(Duration::ZERO))`; tests use one that records the calls.
pub trait RetentionActions: Send + Sync {
    /// Scrub payloads of the community's inbox rows processed before `before_ms`; how many.
    fn scrub_processed_inbox(
        &self,
        store: &Store,
        community: &CommunityId,
        before_ms: i64,
    ) -> impl Future<Output = Result<u64, RetentionError>> + Send;
    /// Start the erasure of one member (no grace period: the schedule was the notice).
    fn erase_member(
        &self,
        store: &Store,
        community: &CommunityId,
        member: &MemberRowId,
    ) -> impl Future<Output = Result<(), RetentionError>> + Send;
    /// Start the erasure of a whole community (no grace period).
    fn erase_community(
        &self,
        store: &Store,
        community: &CommunityId,
    ) -> impl Future<Output = Result<(), RetentionError>> + Send;
}

/// The product's [`RetentionActions`]. In this build the key store's inbox scrub and the
/// erasure requests are not wired yet: each call fails with a clear error naming what is
/// missing (the text rule, which needs neither, still runs).
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreActions;

impl RetentionActions for StoreActions {
    async fn scrub_processed_inbox(
        &self,
        store: &Store,
        community: &CommunityId,
        before_ms: i64,
    ) -> Result<u64, RetentionError> {
        Ok(store.scrub_processed_inbox(community, before_ms).await?)
    }

    async fn erase_member(
        &self,
        store: &Store,
        community: &CommunityId,
        member: &MemberRowId,
    ) -> Result<(), RetentionError> {
        request_retention_erasure(store, community, ErasureTarget::Member(member.clone())).await
    }

    async fn erase_community(
        &self,
        store: &Store,
        community: &CommunityId,
    ) -> Result<(), RetentionError> {
        request_retention_erasure(store, community, ErasureTarget::Community).await
    }
}

/// Ask for an erasure with no grace period (the schedule is the notice); the erasure job runs
/// it and signs its receipt. A target already queued or already erased is not an error: the
/// daily run would otherwise fail every day for a member whose erasure is pending.
async fn request_retention_erasure(
    store: &Store,
    community: &CommunityId,
    target: ErasureTarget,
) -> Result<(), RetentionError> {
    match crate::erasure::request_erasure(
        store,
        community,
        target,
        ErasureOrigin::Retention,
        None,
        Some(std::time::Duration::ZERO),
    )
    .await
    {
        Ok(_)
        | Err(ErasureError::AlreadyRequested { .. })
        | Err(ErasureError::AlreadyErased { .. })
        | Err(ErasureError::CommunityErased { .. }) => Ok(()),
        Err(ErasureError::Store(e)) => Err(RetentionError::Store(e)),
        Err(e) => Err(RetentionError::Unavailable(format!(
            "community {community}: erasure request refused: {e}"
        ))),
    }
}

/// Whether a community still has data the rules apply to (not erased).
fn is_live(state: CommunityState) -> bool {
    matches!(state, CommunityState::Active | CommunityState::Disabled)
}

/// What a retention run at `at` would do in `community` (a dry run: nothing changes).
pub async fn preview(
    store: &Store,
    community: &CommunityId,
    at: DateTime<Utc>,
) -> Result<Plan, RetentionError> {
    let values = policy(store, community).await?.values;
    let at_ms = at.timestamp_millis();
    let mut tx = store.begin().await?;
    let c = tx.community(community).await?;
    let settings =
        CommunitySettings::from_json(&c.settings_json).map_err(|e| RetentionError::Settings {
            community_id: community.to_string(),
            problem: e.to_string(),
        })?;
    let mut ctx = tx.for_community(community);

    let inbox_cut = at_ms - values.inbox_days * DAY_MS;
    let inbox = InboxPlan {
        cut_ms: inbox_cut,
        payloads: ctx.count_processed_inbox_before(inbox_cut).await?,
        next_ms: ctx
            .oldest_processed_inbox_since(inbox_cut)
            .await?
            .map(|t| t + values.inbox_days * DAY_MS),
    };

    let keep_ms = values.text_days_after_course_end * DAY_MS;
    let text = match settings.course_end {
        None => TextPlan {
            course_end: None,
            starts_ms: None,
            cut_ms: None,
            counts: TextCounts::default(),
            note: "no course end date is set: no text is removed by this rule".into(),
        },
        Some(end) => {
            let after_end = end.succ_opt().map_or(i64::MAX, |d| {
                settings.timezone.start_of(d).timestamp_millis()
            });
            let starts = after_end.saturating_add(keep_ms);
            if at_ms < starts {
                TextPlan {
                    course_end: Some(end),
                    starts_ms: Some(starts),
                    cut_ms: None,
                    counts: TextCounts::default(),
                    note: format!(
                        "text is kept until {} days after the course end ({end})",
                        values.text_days_after_course_end
                    ),
                }
            } else {
                let cut = at_ms - keep_ms;
                TextPlan {
                    course_end: Some(end),
                    starts_ms: Some(starts),
                    cut_ms: Some(cut),
                    counts: ctx.count_text_before(cut).await?,
                    note: format!(
                        "the course ended on {end}: text older than {} days is removed",
                        values.text_days_after_course_end
                    ),
                }
            }
        }
    };

    let since = at_ms - values.inactive_member_days * DAY_MS;
    let inactive = InactivePlan {
        since_ms: since,
        members: ctx.inactive_members(since).await?,
    };

    let community_plan = match (c.state, c.disabled_at) {
        (CommunityState::Disabled, Some(disabled_at)) => {
            let erase_at = disabled_at + values.disabled_community_days * DAY_MS;
            CommunityPlan {
                disabled_at: Some(disabled_at),
                erase_at_ms: Some(erase_at),
                due: at_ms >= erase_at,
            }
        }
        _ => CommunityPlan {
            disabled_at: None,
            erase_at_ms: None,
            due: false,
        },
    };
    tx.commit().await?;
    Ok(Plan {
        community_id: community.clone(),
        at_ms,
        policy: values,
        inbox,
        text,
        inactive,
        community: community_plan,
    })
}

/// Apply a community's schedule now (the store's clock): exactly what [`preview`] lists for
/// this instant. Every rule runs even when another fails; the failures are returned together.
pub async fn run_community(
    store: &Store,
    actions: &impl RetentionActions,
    community: &CommunityId,
) -> Result<RunReport, RetentionError> {
    let plan = preview(store, community, store.clock().now()).await?;
    let mut report = RunReport {
        community_id: Some(community.clone()),
        ..RunReport::default()
    };
    let mut problems = Vec::new();
    if let Some(cut) = plan.text.cut_ms {
        match store.purge_text_before(community, cut, TEXT_BATCH).await {
            Ok(n) => report.text = n,
            Err(e) => problems.push(e.to_string()),
        }
    }
    if plan.inbox.payloads > 0 {
        match actions
            .scrub_processed_inbox(store, community, plan.inbox.cut_ms)
            .await
        {
            Ok(n) => report.inbox_payloads = n,
            Err(e) => problems.push(e.to_string()),
        }
    }
    for member in &plan.inactive.members {
        match actions.erase_member(store, community, member).await {
            Ok(()) => report.members_erased.push(member.clone()),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if plan.community.due {
        match actions.erase_community(store, community).await {
            Ok(()) => report.community_erased = true,
            Err(e) => problems.push(e.to_string()),
        }
    }
    let mut tx = store.begin().await?;
    tx.audit(&AuditRecord {
        community_id: Some(community.clone()),
        actor: "system:retention".into(),
        action: "retention.run".into(),
        subject: Some(format!("community:{community}")),
        details: json!({
            "inbox_payloads": report.inbox_payloads,
            "messages": report.text.messages,
            "notes": report.text.notes,
            "members_erased": report.members_erased,
            "community_erased": report.community_erased,
            "failures": problems.len(),
        }),
    })
    .await?;
    tx.commit().await?;
    tracing::info!(
        community_id = %community,
        inbox = report.inbox_payloads,
        messages = report.text.messages,
        notes = report.text.notes,
        members = report.members_erased.len(),
        community_erased = report.community_erased,
        failures = problems.len(),
        "retention applied"
    );
    if problems.is_empty() {
        Ok(report)
    } else {
        Err(RetentionError::Failed {
            community_id: community.to_string(),
            problems: problems.join("; "),
        })
    }
}

/// Apply every live community's schedule (the daily job). Every community is tried; the
/// failures are returned together after.
pub async fn run_all(
    store: &Store,
    actions: &impl RetentionActions,
) -> Result<Vec<RunReport>, RetentionError> {
    let mut problems = Vec::new();
    // Device and network data (sign-in records) is kept at most 30 days, whatever the
    // community's schedule, and also when collection was turned off since.
    let cut = store.now_ms() - classcred_store::DEVICE_DATA_MAX_AGE_MS;
    match store.purge_device_data_before(cut).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "device data older than 30 days purged"),
        Err(e) => problems.push(format!("device data: {e}")),
    }
    let mut tx = store.begin().await?;
    let communities = tx.list_communities().await?;
    tx.commit().await?;
    let mut reports = Vec::new();
    for c in communities.iter().filter(|c| is_live(c.state)) {
        match run_community(store, actions, &c.id).await {
            Ok(r) => reports.push(r),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() {
        Ok(reports)
    } else {
        Err(RetentionError::Failed {
            community_id: "*".into(),
            problems: problems.join(" | "),
        })
    }
}

/// The daily job of `day` (UTC, from the store's clock): one per day, however many scheduler
/// ticks and instances enqueue it.
pub fn retention_job(day: NaiveDate) -> NewJob {
    let mut job = NewJob::new(RETENTION_JOB, json!({ "day": day.to_string() }));
    job.dedupe_key = Some(format!("{RETENTION_JOB}:{day}"));
    job.coalesce_key = Some(RETENTION_JOB.into());
    job.max_attempts = 3;
    job
}

/// Enqueue today's retention run (the scheduler calls this every tick). Returns whether it
/// was newly enqueued.
pub async fn schedule_retention(store: &Store) -> Result<bool, RetentionError> {
    let day = store.clock().now().date_naive();
    Ok(store.enqueue(&retention_job(day)).await?.is_some())
}

/// Milliseconds → RFC 3339 (UTC, seconds), for people.
pub fn when(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}
