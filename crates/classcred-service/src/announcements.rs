//! Scheduled announcements: an Admin or Instructor writes a post for a channel and a local
//! time in the community's timezone; a job ([`ANNOUNCE_JOB`], run at that instant) posts it
//! through the community's chat platform. Editable and cancellable until it is sent.
//!
//! Each schedule or edit queues one job for the announcement's new version (dedupe key
//! `announcement.post:<id>:<version>`); a job whose version is no longer current, or whose
//! announcement was cancelled, does nothing. The posting itself is the platform crate's
//! (`classcred_platform::Platforms::post_announcement_job`).

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use classcred_store::audit::AuditRecord;
use classcred_store::jobs::NewJob;
use classcred_store::{
    Announcement, CommunityId, CommunityTx, MemberKind, MemberRowId, Role, Store,
};
use serde_json::json;

use crate::changes::ChangeError;
use crate::settings;

/// Job kind: post one version of one announcement (payload: community id, announcement id,
/// version).
pub const ANNOUNCE_JOB: &str = "announcement.post";
/// Longest text accepted (characters); chat platforms cut longer posts or refuse them.
pub const MAX_TEXT_CHARS: usize = 3000;
/// Longest channel id or link accepted.
pub const MAX_CHANNEL_CHARS: usize = 200;
/// How far ahead a post may be scheduled (days).
pub const MAX_DAYS_AHEAD: i64 = 366;
/// Announcements shown on the dashboard (and by the API).
pub const LIST_LIMIT: i64 = 200;

/// What the form says.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Draft {
    /// A channel id (`C0123ABCD`, `!room:server`, `19:…@thread.tacv2`), or a Slack channel
    /// link (`https://team.slack.com/archives/C0123ABCD`). Empty: the community's own room or
    /// team conversation (Matrix, Teams).
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub text: String,
    /// `YYYY-MM-DD HH:MM` (or with `T`, as an HTML `datetime-local` sends it) in the
    /// community's timezone.
    #[serde(default)]
    pub post_at: String,
}

fn invalid(field: &str, message: impl Into<String>) -> ChangeError {
    ChangeError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// A local date and time in `tz` as an instant. A time the clocks skip is refused; a time
/// they repeat is its first occurrence.
pub fn parse_local(text: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    let naive = [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .ok_or_else(|| "Give a date and time, like 2026-03-28 09:00.".to_owned())?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Ok(at.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "{t} does not exist in {tz} (the clocks go forward then); pick another time."
        )),
    }
}

/// The channel id a form value names: a Slack channel link gives its id; anything else is
/// taken as an id when it has no whitespace or control characters.
pub fn channel_id(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.chars().count() > MAX_CHANNEL_CHARS {
        return Err(format!("At most {MAX_CHANNEL_CHARS} characters."));
    }
    if let Some(rest) = v
        .strip_prefix("https://")
        .and_then(|r| r.split_once(".slack.com/archives/").map(|(_, id)| id))
    {
        let id = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(id.to_owned());
        }
        return Err("That Slack link does not name a channel.".into());
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("A channel id has no spaces; paste the channel's id or its Slack link.".into());
    }
    Ok(v.to_owned())
}

async fn acting_staff(tx: &mut CommunityTx<'_, '_>, by: &MemberRowId) -> Result<(), ChangeError> {
    match tx.member_role_kind(by).await? {
        Some((Role::Admin | Role::Instructor, MemberKind::Human)) => Ok(()),
        Some(_) => Err(ChangeError::Forbidden),
        None => Err(ChangeError::NotFound),
    }
}

/// Checks a draft against the community: `(channel, text, post_at)`.
async fn checked(
    tx: &mut classcred_store::Tx<'_>,
    community_id: &CommunityId,
    draft: &Draft,
    now: DateTime<Utc>,
) -> Result<(String, String, DateTime<Utc>), ChangeError> {
    let community = tx.community(community_id).await?;
    let tz = settings(tx, community_id).await?.timezone.tz();
    let mut channel = channel_id(&draft.channel).map_err(|m| invalid("channel", m))?;
    if channel.is_empty() {
        channel = match (community.platform.as_str(), community.platform_team_id) {
            ("matrix" | "teams", Some(home)) => home,
            _ => return Err(invalid("channel", "Say which channel to post in.")),
        };
    }
    let text = draft.text.trim().replace("\r\n", "\n");
    if text.is_empty() {
        return Err(invalid("text", "Write what the announcement says."));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(
            "text",
            format!("At most {MAX_TEXT_CHARS} characters."),
        ));
    }
    let post_at = parse_local(&draft.post_at, tz).map_err(|m| invalid("post_at", m))?;
    // A minute of grace for the time it took to fill in the form.
    if post_at < now - chrono::Duration::minutes(1) {
        return Err(invalid(
            "post_at",
            "That time has passed; pick a later one.",
        ));
    }
    if post_at > now + chrono::Duration::days(MAX_DAYS_AHEAD) {
        return Err(invalid(
            "post_at",
            format!("At most {MAX_DAYS_AHEAD} days ahead."),
        ));
    }
    Ok((channel, text, post_at))
}

/// The posting job of one version of an announcement, due at its time.
pub fn post_job(a: &Announcement) -> NewJob {
    let mut job = NewJob::new(
        ANNOUNCE_JOB,
        json!({ "community_id": a.community_id, "announcement_id": a.id, "version": a.version }),
    );
    job.community_id = Some(a.community_id.clone());
    job.dedupe_key = Some(format!("{ANNOUNCE_JOB}:{}:{}", a.id, a.version));
    job.run_at = Some(a.post_at);
    job.max_attempts = 8;
    job
}

async fn audit(
    tx: &mut classcred_store::Tx<'_>,
    community_id: &CommunityId,
    by: &MemberRowId,
    action: &str,
    a: &Announcement,
) -> Result<(), ChangeError> {
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: format!("member:{by}"),
        action: action.into(),
        subject: Some(format!("announcement:{}", a.id)),
        details: json!({ "version": a.version, "post_at": a.post_at, "channel": a.channel }),
    })
    .await?;
    Ok(())
}

/// Schedules an announcement (Admin or Instructor).
pub async fn schedule(
    store: &Store,
    community_id: &CommunityId,
    by: &MemberRowId,
    draft: &Draft,
    now: DateTime<Utc>,
) -> Result<Announcement, ChangeError> {
    let mut tx = store.begin().await?;
    acting_staff(&mut tx.for_community(community_id), by).await?;
    let (channel, text, post_at) = checked(&mut tx, community_id, draft, now).await?;
    let a = tx
        .for_community(community_id)
        .insert_announcement(&channel, &text, post_at.timestamp_millis(), by)
        .await?;
    tx.enqueue(&post_job(&a)).await?;
    audit(&mut tx, community_id, by, "announcement.schedule", &a).await?;
    tx.commit().await?;
    Ok(a)
}

/// Changes a scheduled announcement; refused once it is being sent, sent or cancelled.
pub async fn edit(
    store: &Store,
    community_id: &CommunityId,
    by: &MemberRowId,
    id: &str,
    draft: &Draft,
    now: DateTime<Utc>,
) -> Result<Announcement, ChangeError> {
    let mut tx = store.begin().await?;
    acting_staff(&mut tx.for_community(community_id), by).await?;
    if tx
        .for_community(community_id)
        .announcement(id)
        .await?
        .is_none()
    {
        return Err(ChangeError::NotFound);
    }
    let (channel, text, post_at) = checked(&mut tx, community_id, draft, now).await?;
    let Some(a) = tx
        .for_community(community_id)
        .update_announcement(id, &channel, &text, post_at.timestamp_millis())
        .await?
    else {
        return Err(invalid(
            "state",
            "This announcement was already sent or cancelled; it can no longer change.",
        ));
    };
    tx.enqueue(&post_job(&a)).await?;
    audit(&mut tx, community_id, by, "announcement.edit", &a).await?;
    tx.commit().await?;
    Ok(a)
}

/// Cancels a scheduled announcement; refused once it is being sent, sent or cancelled.
pub async fn cancel(
    store: &Store,
    community_id: &CommunityId,
    by: &MemberRowId,
    id: &str,
) -> Result<(), ChangeError> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    acting_staff(&mut scoped, by).await?;
    let Some(a) = scoped.announcement(id).await? else {
        return Err(ChangeError::NotFound);
    };
    if !scoped.cancel_announcement(id).await? {
        return Err(invalid(
            "state",
            "This announcement was already sent or cancelled.",
        ));
    }
    audit(&mut tx, community_id, by, "announcement.cancel", &a).await?;
    tx.commit().await?;
    Ok(())
}

/// The community's announcements: scheduled ones soonest first, then the rest latest first.
pub async fn list(
    store: &Store,
    community_id: &CommunityId,
) -> Result<Vec<Announcement>, ChangeError> {
    let mut tx = store.begin().await?;
    let out = tx
        .for_community(community_id)
        .announcements(LIST_LIMIT)
        .await?;
    tx.commit().await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_in_the_zone() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            parse_local("2026-03-28T09:00", tz).unwrap().to_rfc3339(),
            "2026-03-28T08:00:00+00:00"
        );
        assert_eq!(
            parse_local("2026-07-01 09:00", tz).unwrap().to_rfc3339(),
            "2026-07-01T07:00:00+00:00"
        );
        // 02:30 does not exist on the night the clocks go forward.
        assert!(parse_local("2026-03-29 02:30", tz)
            .unwrap_err()
            .contains("does not exist"));
        // 02:30 happens twice when they go back: the first one.
        assert_eq!(
            parse_local("2026-10-25 02:30", tz).unwrap().to_rfc3339(),
            "2026-10-25T00:30:00+00:00"
        );
        assert!(parse_local("tomorrow", tz).is_err());
    }

    #[test]
    fn channels_are_ids_or_slack_links() {
        assert_eq!(channel_id(" C0123ABCD ").unwrap(), "C0123ABCD");
        assert_eq!(
            channel_id("https://school.slack.com/archives/C0123ABCD/p1700000000").unwrap(),
            "C0123ABCD"
        );
        assert_eq!(
            channel_id("!room:matrix.example").unwrap(),
            "!room:matrix.example"
        );
        assert!(channel_id("general channel").is_err());
        assert!(channel_id("https://school.slack.com/archives/").is_err());
        assert!(channel_id(&"x".repeat(MAX_CHANNEL_CHARS + 1)).is_err());
        assert_eq!(channel_id("").unwrap(), "");
    }
}
