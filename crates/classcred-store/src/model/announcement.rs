//! Scheduled announcements: a post an Admin or Instructor writes for one channel and one time.
//!
//! The text is sealed with the community's key. Each edit bumps `version`; the posting job
//! carries the version it was queued for and [`CommunityTx::begin_announcement_post`] only
//! lets that version of a still-scheduled announcement through (moving it to `sending`, in a
//! short transaction of its own: no transaction waits on the platform), so an edit or a
//! cancellation made before the time always wins over the job queued earlier, and none can
//! slip in while the post is on its way.

use super::*;
use crate::MemberRowId;

const TABLE: &str = "announcement";
const COLUMNS: &str = "id, community_id, channel, text_enc, post_at, state, version, created_by, \
                       created_at, updated_at, sent_at, platform_message_id";

/// Where an announcement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnouncementState {
    /// Waiting for its time; editable and cancellable.
    Scheduled,
    /// The job is posting it (neither editable nor cancellable).
    Sending,
    /// Posted.
    Sent,
    /// Cancelled before it was sent.
    Cancelled,
    /// The platform refused it for good (or the community has no chat platform).
    Failed,
}

impl AnnouncementState {
    pub fn as_str(self) -> &'static str {
        match self {
            AnnouncementState::Scheduled => "scheduled",
            AnnouncementState::Sending => "sending",
            AnnouncementState::Sent => "sent",
            AnnouncementState::Cancelled => "cancelled",
            AnnouncementState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "scheduled" => Ok(AnnouncementState::Scheduled),
            "sending" => Ok(AnnouncementState::Sending),
            "sent" => Ok(AnnouncementState::Sent),
            "cancelled" => Ok(AnnouncementState::Cancelled),
            "failed" => Ok(AnnouncementState::Failed),
            other => Err(StoreError::Invalid(format!(
                "unknown announcement state {other:?}"
            ))),
        }
    }
}

/// One announcement, its text opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Announcement {
    pub id: String,
    pub community_id: CommunityId,
    /// The platform's channel, room or conversation id.
    pub channel: String,
    pub text: String,
    /// When to post (ms since the epoch).
    pub post_at: i64,
    pub state: AnnouncementState,
    pub version: i64,
    /// Who wrote it (`None` once that member was erased).
    pub created_by: Option<MemberRowId>,
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
    /// The platform's id of the posted message.
    pub platform_message_id: Option<String>,
}

impl CommunityTx<'_, '_> {
    async fn seal_announcement(&mut self, id: &str, text: &str) -> Result<Option<Vec<u8>>> {
        let community_id = self.community_id.clone();
        let dek = self.data_key(&community_id).await?;
        Ok(seal_opt(
            &dek,
            &community_id,
            TABLE,
            "text_enc",
            id,
            Some(text),
        ))
    }

    async fn open_announcement(&mut self, r: &AnyRow) -> Result<Announcement> {
        let community_id = self.community_id.clone();
        let id: String = r.try_get("id")?;
        let dek = self.data_key(&community_id).await?;
        let text = open_opt(&dek, r, &community_id, TABLE, "text_enc", &id)?.unwrap_or_default();
        Ok(Announcement {
            community_id,
            channel: r.try_get("channel")?,
            text,
            post_at: r.try_get("post_at")?,
            state: AnnouncementState::parse(&r.try_get::<String, _>("state")?)?,
            version: r.try_get("version")?,
            created_by: r
                .try_get::<Option<String>, _>("created_by")?
                .map(MemberRowId::from_db),
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            sent_at: r.try_get("sent_at")?,
            platform_message_id: r.try_get("platform_message_id")?,
            id,
        })
    }

    /// Schedules a new announcement (version 1).
    pub async fn insert_announcement(
        &mut self,
        channel: &str,
        text: &str,
        post_at: i64,
        created_by: &MemberRowId,
    ) -> Result<Announcement> {
        let id = new_id();
        let now = self.now_ms();
        let sealed = self.seal_announcement(&id, text).await?;
        sqlx::query(
            "INSERT INTO announcement (id, community_id, channel, text_enc, post_at, state, \
             version, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'scheduled', 1, $6, $7, $7)",
        )
        .bind(&id)
        .bind(self.community_id.clone())
        .bind(channel)
        .bind(sealed)
        .bind(post_at)
        .bind(created_by)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        self.announcement(&id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "announcement",
                id,
            })
    }

    /// One announcement of this community; `None` for an unknown id or another community's.
    pub async fn announcement(&mut self, id: &str) -> Result<Option<Announcement>> {
        let sql = format!("SELECT {COLUMNS} FROM announcement WHERE community_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(self.community_id.clone())
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        match row {
            Some(r) => Ok(Some(self.open_announcement(&r).await?)),
            None => Ok(None),
        }
    }

    /// The community's announcements: scheduled ones first, soonest first; then the others,
    /// latest first. At most `limit`.
    pub async fn announcements(&mut self, limit: i64) -> Result<Vec<Announcement>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM announcement WHERE community_id = $1 \
             ORDER BY CASE WHEN state = 'scheduled' THEN 0 ELSE 1 END, \
             CASE WHEN state = 'scheduled' THEN post_at ELSE -post_at END, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(self.community_id.clone())
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.open_announcement(r).await?);
        }
        Ok(out)
    }

    /// Changes a scheduled announcement (channel, text, time) and bumps its version. `None`
    /// when it is not scheduled any more (sent, cancelled, failed) or unknown.
    pub async fn update_announcement(
        &mut self,
        id: &str,
        channel: &str,
        text: &str,
        post_at: i64,
    ) -> Result<Option<Announcement>> {
        let now = self.now_ms();
        let sealed = self.seal_announcement(id, text).await?;
        let done = sqlx::query(
            "UPDATE announcement SET channel = $1, text_enc = $2, post_at = $3, \
             version = version + 1, updated_at = $4 \
             WHERE community_id = $5 AND id = $6 AND state = 'scheduled'",
        )
        .bind(channel)
        .bind(sealed)
        .bind(post_at)
        .bind(now)
        .bind(self.community_id.clone())
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.announcement(id).await
    }

    /// Cancels a scheduled announcement; `false` when it is not scheduled (any more).
    pub async fn cancel_announcement(&mut self, id: &str) -> Result<bool> {
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE announcement SET state = 'cancelled', updated_at = $1 \
             WHERE community_id = $2 AND id = $3 AND state = 'scheduled'",
        )
        .bind(now)
        .bind(self.community_id.clone())
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The posting job's start: `version` of the announcement, scheduled (or `sending` from an
    /// attempt that did not finish), moves to `sending` and is returned. `None` when it was
    /// edited, cancelled or sent since the job was queued: the job has nothing to do.
    pub async fn begin_announcement_post(
        &mut self,
        id: &str,
        version: i64,
    ) -> Result<Option<Announcement>> {
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE announcement SET state = 'sending', updated_at = $1 \
             WHERE community_id = $2 AND id = $3 AND version = $4 \
             AND state IN ('scheduled', 'sending')",
        )
        .bind(now)
        .bind(self.community_id.clone())
        .bind(id)
        .bind(version)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.announcement(id).await
    }

    /// The posting job's end: a `sending` announcement becomes `sent` (with the platform's
    /// message id), `failed`, or `scheduled` again (a failure worth retrying: editable again
    /// until the retry).
    pub async fn end_announcement_post(
        &mut self,
        id: &str,
        to: AnnouncementState,
        platform_message_id: Option<&str>,
    ) -> Result<bool> {
        let now = self.now_ms();
        let sent_at = (to == AnnouncementState::Sent).then_some(now);
        let done = sqlx::query(
            "UPDATE announcement SET state = $1, updated_at = $2, sent_at = $3, \
             platform_message_id = $4 \
             WHERE community_id = $5 AND id = $6 AND state = 'sending'",
        )
        .bind(to.as_str())
        .bind(now)
        .bind(sent_at)
        .bind(platform_message_id)
        .bind(self.community_id.clone())
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
