//! Firsts and announcement responses (migration 0026): the announcements as posted, and each
//! person's first response to an announcement, question, poll or debate. Ids, places, points
//! and times only.

use super::*;

/// A posted announcement's platform message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnnouncementPostRow {
    pub platform_message_id: String,
    pub announcement_id: String,
    pub channel: String,
    pub posted_at: i64,
}

/// A person's first response to one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirstResponseRow {
    /// `announcement`, `question`, `poll` or `debate`.
    pub target_kind: String,
    pub target_id: String,
    pub member_id: MemberRowId,
    /// 1-based place among the students (`None`: staff).
    pub place: Option<i64>,
    /// The firsts bonus earned, thousandths (0: none).
    pub bonus_milli: i64,
    pub occurred_at: i64,
}

fn first_row(r: &sqlx::any::AnyRow) -> Result<FirstResponseRow> {
    Ok(FirstResponseRow {
        target_kind: r.try_get("target_kind")?,
        target_id: r.try_get("target_id")?,
        member_id: r.try_get("member_id")?,
        place: r.try_get("place")?,
        bonus_milli: r.try_get("bonus_milli")?,
        occurred_at: r.try_get("occurred_at")?,
    })
}

const FIRST_COLUMNS: &str = "target_kind, target_id, member_id, place, bonus_milli, occurred_at";

impl CommunityTx<'_, '_> {
    /// The announcement posted as this platform message.
    pub async fn announcement_of_message(
        &mut self,
        platform_message_id: &str,
    ) -> Result<Option<String>> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT announcement_id FROM announcement_post WHERE community_id = $1 \
             AND platform_message_id = $2",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Remember an announcement's post (a second write of the same message changes nothing).
    pub async fn insert_announcement_post(&mut self, row: &AnnouncementPostRow) -> Result<()> {
        let community_id = &self.community_id.clone();
        sqlx::query(
            "INSERT INTO announcement_post (community_id, platform_message_id, announcement_id, \
             channel, posted_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (community_id, platform_message_id) DO NOTHING",
        )
        .bind(community_id)
        .bind(&row.platform_message_id)
        .bind(&row.announcement_id)
        .bind(&row.channel)
        .bind(row.posted_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Every announcement post, by message id.
    pub async fn announcement_posts(&mut self) -> Result<Vec<AnnouncementPostRow>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT platform_message_id, announcement_id, channel, posted_at \
             FROM announcement_post WHERE community_id = $1 ORDER BY platform_message_id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AnnouncementPostRow {
                    platform_message_id: r.try_get("platform_message_id")?,
                    announcement_id: r.try_get("announcement_id")?,
                    channel: r.try_get("channel")?,
                    posted_at: r.try_get("posted_at")?,
                })
            })
            .collect()
    }

    /// Whether `member` already responded to this target.
    pub async fn has_first_response(
        &mut self,
        target_kind: &str,
        target_id: &str,
        member: &MemberRowId,
    ) -> Result<bool> {
        let community_id = &self.community_id.clone();
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM first_response WHERE community_id = $1 \
             AND target_kind = $2 AND target_id = $3 AND member_id = $4",
        )
        .bind(community_id)
        .bind(target_kind)
        .bind(target_id)
        .bind(member)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(n.is_some())
    }

    /// How many students responded to this target (places taken).
    pub async fn first_places(&mut self, target_kind: &str, target_id: &str) -> Result<i64> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM first_response WHERE community_id = $1 \
             AND target_kind = $2 AND target_id = $3 AND place IS NOT NULL",
        )
        .bind(community_id)
        .bind(target_kind)
        .bind(target_id)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// How many targets of a kind a member responded to as a student.
    pub async fn responses_by(&mut self, member: &MemberRowId, target_kind: &str) -> Result<i64> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM first_response WHERE community_id = $1 \
             AND member_id = $2 AND target_kind = $3 AND place IS NOT NULL",
        )
        .bind(community_id)
        .bind(member)
        .bind(target_kind)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// Record a first response (a second write for the same target and member changes
    /// nothing).
    pub async fn insert_first_response(&mut self, row: &FirstResponseRow) -> Result<()> {
        let community_id = &self.community_id.clone();
        sqlx::query(
            "INSERT INTO first_response (community_id, target_kind, target_id, member_id, place, \
             bonus_milli, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (community_id, target_kind, target_id, member_id) DO NOTHING",
        )
        .bind(community_id)
        .bind(&row.target_kind)
        .bind(&row.target_id)
        .bind(&row.member_id)
        .bind(row.place)
        .bind(row.bonus_milli)
        .bind(row.occurred_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The responses to one target, by place (staff after the students), then time.
    pub async fn first_responses_to(
        &mut self,
        target_kind: &str,
        target_id: &str,
    ) -> Result<Vec<FirstResponseRow>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(&format!(
            "SELECT {FIRST_COLUMNS} FROM first_response WHERE community_id = $1 \
             AND target_kind = $2 AND target_id = $3 \
             ORDER BY CASE WHEN place IS NULL THEN 1 ELSE 0 END, place, occurred_at, member_id"
        ))
        .bind(community_id)
        .bind(target_kind)
        .bind(target_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(first_row).collect()
    }

    /// Every first response of the community (for replay), by target then place.
    pub async fn all_first_responses(&mut self) -> Result<Vec<FirstResponseRow>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(&format!(
            "SELECT {FIRST_COLUMNS} FROM first_response WHERE community_id = $1 \
             ORDER BY target_kind, target_id, member_id"
        ))
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(first_row).collect()
    }
}
