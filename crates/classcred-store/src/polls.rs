//! Polls and debates: `poll` (the definition, its question sealed with the community key),
//! `poll_option` (each option sealed), `poll_vote` (one vote per member and poll) and
//! `poll_debater` (each member counted once as a debate's participant).
//!
//! All are written only from an engine outcome, in the processing transaction. In an
//! anonymous poll a vote row holds no member id and no time: only a keyed blind index of
//! (poll, member) made with the community key ([`Voter::Anonymous`]), so one vote per member
//! is kept without storing who voted. The index differs per poll, so an anonymous voter
//! cannot be followed from one poll to the next.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, open_opt, seal_opt, CommunityTx, MemberRowId, Result, StoreError};

const POLL_COLUMNS: &str = "id, CAST(number AS BIGINT) AS number, kind, question_enc, \
     anonymous, live_results, channel_id, closes_at, created_by, created_at, \
     posted_message_id, closed_at, closed_by";

/// One poll row, its question and options opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PollRow {
    pub poll_id: String,
    /// The short number members vote by in chat (given when the poll is first written; any
    /// value passed to [`CommunityTx::upsert_poll`] is ignored).
    pub number: i64,
    /// `poll` or `debate`.
    pub kind: String,
    pub question: String,
    /// The options in order (a debate's sides).
    pub options: Vec<String>,
    pub anonymous: bool,
    pub live_results: bool,
    pub channel_id: Option<String>,
    pub closes_at: Option<i64>,
    pub created_by: MemberRowId,
    /// The platform time of the creation (ms).
    pub created_at: i64,
    pub posted_message_id: Option<String>,
    pub closed_at: Option<i64>,
    pub closed_by: Option<MemberRowId>,
}

/// Who a vote belongs to, as the vote table keeps it.
#[derive(Debug, Clone, Copy)]
pub enum Voter<'a> {
    /// A poll that is not anonymous: the member row id.
    Member(&'a MemberRowId),
    /// An anonymous poll: the member only enters the keyed blind index.
    Anonymous(&'a MemberRowId),
}

/// One member's vote in a poll that is not anonymous (their "my data" and export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberVote {
    pub poll_id: String,
    pub position: i64,
    pub voted_at: Option<i64>,
}

/// A vote as `ledger replay` compares it: `member_id` is `None` in anonymous polls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredVote {
    pub poll_id: String,
    pub member_id: Option<MemberRowId>,
    pub position: i64,
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

impl CommunityTx<'_, '_> {
    async fn open_poll(&mut self, r: &AnyRow) -> Result<PollRow> {
        let community_id = self.community_id.clone();
        let id: String = r.try_get("id")?;
        let dek = self.data_key(&community_id).await?;
        let question =
            open_opt(&dek, r, &community_id, "poll", "question_enc", &id)?.unwrap_or_default();
        let rows = sqlx::query(
            "SELECT id, text_enc FROM poll_option WHERE community_id = $1 AND poll_id = $2 \
             ORDER BY position",
        )
        .bind(&community_id)
        .bind(&id)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut options = Vec::with_capacity(rows.len());
        for o in &rows {
            let oid: String = o.try_get("id")?;
            options.push(
                open_opt(&dek, o, &community_id, "poll_option", "text_enc", &oid)?
                    .unwrap_or_default(),
            );
        }
        Ok(PollRow {
            number: r.try_get("number")?,
            kind: r.try_get("kind")?,
            question,
            options,
            anonymous: r.try_get::<i64, _>("anonymous")? != 0,
            live_results: r.try_get::<i64, _>("live_results")? != 0,
            channel_id: r.try_get("channel_id")?,
            closes_at: r.try_get("closes_at")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            posted_message_id: r.try_get("posted_message_id")?,
            closed_at: r.try_get("closed_at")?,
            closed_by: r.try_get("closed_by")?,
            poll_id: id,
        })
    }

    /// One poll of this community.
    pub async fn poll(&mut self, poll_id: &str) -> Result<Option<PollRow>> {
        let community_id = self.community_id.clone();
        let row = sqlx::query(&format!(
            "SELECT {POLL_COLUMNS} FROM poll WHERE community_id = $1 AND id = $2"
        ))
        .bind(&community_id)
        .bind(poll_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        match row {
            Some(r) => self.open_poll(&r).await.map(Some),
            None => Ok(None),
        }
    }

    /// The poll with this chat number.
    pub async fn poll_by_number(&mut self, number: i64) -> Result<Option<PollRow>> {
        let community_id = self.community_id.clone();
        let row = sqlx::query(&format!(
            "SELECT {POLL_COLUMNS} FROM poll WHERE community_id = $1 AND number = $2"
        ))
        .bind(&community_id)
        .bind(number)
        .fetch_optional(&mut *self.tx)
        .await?;
        match row {
            Some(r) => self.open_poll(&r).await.map(Some),
            None => Ok(None),
        }
    }

    /// The community's polls, newest first.
    pub async fn polls(&mut self, limit: i64) -> Result<Vec<PollRow>> {
        let community_id = self.community_id.clone();
        let rows = sqlx::query(&format!(
            "SELECT {POLL_COLUMNS} FROM poll WHERE community_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(&community_id)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.open_poll(r).await?);
        }
        Ok(out)
    }

    /// Insert a poll (with its options) or update what can change: the posted message and
    /// the close. An id that belongs to another community is refused.
    pub async fn upsert_poll(&mut self, p: &PollRow) -> Result<()> {
        let community_id = self.community_id.clone();
        let now = self.now_ms();
        let exists = sqlx::query_scalar::<_, String>("SELECT community_id FROM poll WHERE id = $1")
            .bind(&p.poll_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        match exists {
            Some(c) if c != community_id.as_str() => {
                return Err(StoreError::NotFound {
                    what: "poll",
                    id: p.poll_id.clone(),
                })
            }
            Some(_) => {
                sqlx::query(
                    "UPDATE poll SET posted_message_id = $1, closed_at = $2, closed_by = $3, \
                     updated_at = $4 WHERE community_id = $5 AND id = $6",
                )
                .bind(&p.posted_message_id)
                .bind(p.closed_at)
                .bind(&p.closed_by)
                .bind(now)
                .bind(&community_id)
                .bind(&p.poll_id)
                .execute(&mut *self.tx)
                .await?;
                return Ok(());
            }
            None => {}
        }
        let number: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(number), 0) AS BIGINT) FROM poll WHERE community_id = $1",
        )
        .bind(&community_id)
        .fetch_one(&mut *self.tx)
        .await?;
        let dek = self.data_key(&community_id).await?;
        let question = seal_opt(
            &dek,
            &community_id,
            "poll",
            "question_enc",
            &p.poll_id,
            Some(&p.question),
        );
        sqlx::query(
            "INSERT INTO poll (id, community_id, kind, question_enc, anonymous, live_results, \
             channel_id, closes_at, created_by, created_at, posted_message_id, closed_at, \
             closed_by, updated_at, number) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&p.poll_id)
        .bind(&community_id)
        .bind(&p.kind)
        .bind(question)
        .bind(flag(p.anonymous))
        .bind(flag(p.live_results))
        .bind(&p.channel_id)
        .bind(p.closes_at)
        .bind(&p.created_by)
        .bind(p.created_at)
        .bind(&p.posted_message_id)
        .bind(p.closed_at)
        .bind(&p.closed_by)
        .bind(now)
        .bind(number + 1)
        .execute(&mut *self.tx)
        .await?;
        for (i, text) in p.options.iter().enumerate() {
            let id = new_id();
            let sealed = seal_opt(
                &dek,
                &community_id,
                "poll_option",
                "text_enc",
                &id,
                Some(text),
            );
            sqlx::query(
                "INSERT INTO poll_option (id, community_id, poll_id, position, text_enc, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id)
            .bind(&community_id)
            .bind(&p.poll_id)
            .bind(i64::try_from(i).unwrap_or(i64::MAX))
            .bind(sealed)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Whether a poll is anonymous (`None`: no such poll).
    pub async fn poll_anonymous(&mut self, poll_id: &str) -> Result<Option<bool>> {
        let community_id = self.community_id.clone();
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT CAST(anonymous AS BIGINT) FROM poll WHERE community_id = $1 AND id = $2",
        )
        .bind(&community_id)
        .bind(poll_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .map(|a| a != 0))
    }

    /// The blind index an anonymous vote is kept under.
    async fn voter_bidx(&mut self, poll_id: &str, member: &MemberRowId) -> Result<Vec<u8>> {
        let community_id = self.community_id.clone();
        let dek = self.data_key(&community_id).await?;
        Ok(dek.blind_index("poll_vote.voter", &format!("{poll_id}/{member}")))
    }

    /// A member's current vote (the option's position), if any.
    pub async fn poll_vote(&mut self, poll_id: &str, voter: Voter<'_>) -> Result<Option<i64>> {
        let community_id = self.community_id.clone();
        Ok(match voter {
            Voter::Member(m) => {
                sqlx::query_scalar::<_, i64>(
                    "SELECT CAST(position AS BIGINT) FROM poll_vote WHERE community_id = $1 \
                     AND poll_id = $2 AND member_id = $3",
                )
                .bind(&community_id)
                .bind(poll_id)
                .bind(m)
                .fetch_optional(&mut *self.tx)
                .await?
            }
            Voter::Anonymous(m) => {
                let bidx = self.voter_bidx(poll_id, m).await?;
                sqlx::query_scalar::<_, i64>(
                    "SELECT CAST(position AS BIGINT) FROM poll_vote WHERE community_id = $1 \
                     AND poll_id = $2 AND voter_bidx = $3",
                )
                .bind(&community_id)
                .bind(poll_id)
                .bind(bidx)
                .fetch_optional(&mut *self.tx)
                .await?
            }
        })
    }

    /// Record a vote, replacing the member's earlier one. `voted_at` is dropped for an
    /// anonymous vote.
    pub async fn save_poll_vote(
        &mut self,
        poll_id: &str,
        voter: Voter<'_>,
        position: i64,
        voted_at: i64,
    ) -> Result<()> {
        let community_id = self.community_id.clone();
        let (member, bidx, at) = match voter {
            Voter::Member(m) => (Some(m.clone()), None, Some(voted_at)),
            Voter::Anonymous(m) => (None, Some(self.voter_bidx(poll_id, m).await?), None),
        };
        let updated = sqlx::query(
            "UPDATE poll_vote SET position = $1, voted_at = $2 WHERE community_id = $3 \
             AND poll_id = $4 AND (member_id = $5 OR voter_bidx = $6)",
        )
        .bind(position)
        .bind(at)
        .bind(&community_id)
        .bind(poll_id)
        .bind(&member)
        .bind(&bidx)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if updated > 0 {
            return Ok(());
        }
        // A random id: a time-ordered one would date an anonymous vote.
        sqlx::query(
            "INSERT INTO poll_vote (id, community_id, poll_id, member_id, voter_bidx, position, voted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&community_id)
        .bind(poll_id)
        .bind(&member)
        .bind(&bidx)
        .bind(position)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Votes per option position of a poll: `(position, votes)`, positions without votes
    /// left out.
    pub async fn poll_counts(&mut self, poll_id: &str) -> Result<Vec<(i64, i64)>> {
        let community_id = self.community_id.clone();
        let rows = sqlx::query(
            "SELECT CAST(position AS BIGINT) AS position, CAST(COUNT(*) AS BIGINT) AS n \
             FROM poll_vote WHERE community_id = $1 AND poll_id = $2 GROUP BY position \
             ORDER BY position",
        )
        .bind(&community_id)
        .bind(poll_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("position")?, r.try_get("n")?)))
            .collect()
    }

    /// Polls that are not anonymous in which a member has a vote.
    pub async fn polls_voted(&mut self, member: &MemberRowId) -> Result<i64> {
        let community_id = self.community_id.clone();
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM poll_vote WHERE community_id = $1 \
             AND member_id = $2",
        )
        .bind(&community_id)
        .bind(member)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// A member's votes in polls that are not anonymous, newest first.
    pub async fn member_votes(&mut self, member: &MemberRowId) -> Result<Vec<MemberVote>> {
        let community_id = self.community_id.clone();
        let rows = sqlx::query(
            "SELECT poll_id, CAST(position AS BIGINT) AS position, voted_at FROM poll_vote \
             WHERE community_id = $1 AND member_id = $2 ORDER BY voted_at DESC, poll_id",
        )
        .bind(&community_id)
        .bind(member)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MemberVote {
                    poll_id: r.try_get("poll_id")?,
                    position: r.try_get("position")?,
                    voted_at: r.try_get("voted_at")?,
                })
            })
            .collect()
    }

    /// Every vote of the community (for `ledger replay`), by poll.
    pub async fn stored_votes(&mut self) -> Result<Vec<StoredVote>> {
        let community_id = self.community_id.clone();
        let rows = sqlx::query(
            "SELECT poll_id, member_id, CAST(position AS BIGINT) AS position FROM poll_vote \
             WHERE community_id = $1 ORDER BY poll_id, position",
        )
        .bind(&community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredVote {
                    poll_id: r.try_get("poll_id")?,
                    member_id: r.try_get("member_id")?,
                    position: r.try_get("position")?,
                })
            })
            .collect()
    }

    /// The debate whose posted message is this thread root.
    pub async fn debate_of_thread(&mut self, platform_message_id: &str) -> Result<Option<String>> {
        let community_id = self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT id FROM poll WHERE community_id = $1 AND posted_message_id = $2 \
             AND kind = 'debate'",
        )
        .bind(&community_id)
        .bind(platform_message_id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Whether a member is counted as a participant of a debate.
    pub async fn is_debater(&mut self, poll_id: &str, member: &MemberRowId) -> Result<bool> {
        let community_id = self.community_id.clone();
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM poll_debater WHERE community_id = $1 \
             AND poll_id = $2 AND member_id = $3",
        )
        .bind(&community_id)
        .bind(poll_id)
        .bind(member)
        .fetch_one(&mut *self.tx)
        .await?
            > 0)
    }

    /// Count a member once as a debate's participant.
    pub async fn add_debater(
        &mut self,
        poll_id: &str,
        member: &MemberRowId,
        joined_at: i64,
    ) -> Result<()> {
        let community_id = self.community_id.clone();
        sqlx::query(
            "INSERT INTO poll_debater (id, community_id, poll_id, member_id, joined_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (poll_id, member_id) DO NOTHING",
        )
        .bind(new_id())
        .bind(&community_id)
        .bind(poll_id)
        .bind(member)
        .bind(joined_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Participants counted in each debate: `(poll id, count)`.
    pub async fn debater_counts(&mut self) -> Result<Vec<(String, i64)>> {
        let community_id = self.community_id.clone();
        let rows = sqlx::query(
            "SELECT poll_id, CAST(COUNT(*) AS BIGINT) AS n FROM poll_debater \
             WHERE community_id = $1 GROUP BY poll_id ORDER BY poll_id",
        )
        .bind(&community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("poll_id")?, r.try_get("n")?)))
            .collect()
    }
}
