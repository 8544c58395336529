//! Questions and answers (migration 0021): the engine's question records and the dashboard's
//! lists. Ids and times only; the texts stay in `message`, sealed.

use super::*;

/// A question as the engine's outcome writes it (the record is the engine's JSON).
#[derive(Debug, Clone)]
pub struct QuestionUpsert {
    pub platform_message_id: String,
    pub asker_member_id: MemberRowId,
    pub channel_id: Option<String>,
    pub asked_at: i64,
    pub deleted: bool,
    pub accepted_answer_id: Option<String>,
    pub record: String,
    pub answers: Vec<AnswerRow>,
}

/// One reply to a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerRow {
    pub platform_message_id: String,
    pub question_message_id: String,
    pub author_member_id: MemberRowId,
    pub posted_at: i64,
    pub deleted: bool,
    pub accepted: bool,
}

/// Which questions a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionFilter {
    /// Not deleted and no answer accepted.
    Unanswered,
    /// Not deleted, an answer accepted.
    Answered,
    /// Not deleted.
    All,
}

/// One question in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuestionRow {
    pub platform_message_id: String,
    pub asker_member_id: MemberRowId,
    pub channel_id: Option<String>,
    pub asked_at: i64,
    pub accepted_answer_id: Option<String>,
    pub answer_count: i64,
}

fn question_row(r: &sqlx::any::AnyRow) -> Result<QuestionRow> {
    Ok(QuestionRow {
        platform_message_id: r.try_get("platform_message_id")?,
        asker_member_id: r.try_get("asker_member_id")?,
        channel_id: r.try_get("channel_id")?,
        asked_at: r.try_get("asked_at")?,
        accepted_answer_id: r.try_get("accepted_answer_id")?,
        answer_count: r.try_get("answer_count")?,
    })
}

const QUESTION_COLUMNS: &str =
    "platform_message_id, asker_member_id, channel_id, asked_at, accepted_answer_id, answer_count";

impl CommunityTx<'_, '_> {
    /// The engine's JSON record of a question.
    pub async fn engine_question(&mut self, platform_message_id: &str) -> Result<Option<String>> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT record FROM question WHERE community_id = $1 AND platform_message_id = $2",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// The question a reply answers.
    pub async fn question_of_answer(&mut self, answer_message_id: &str) -> Result<Option<String>> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT question_message_id FROM answer WHERE community_id = $1 \
             AND platform_message_id = $2",
        )
        .bind(community_id)
        .bind(answer_message_id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Write a question record and its answers.
    pub async fn upsert_question(&mut self, q: &QuestionUpsert) -> Result<()> {
        let community_id = &self.community_id.clone();
        let live = q.answers.iter().filter(|a| !a.deleted).count();
        sqlx::query(
            "INSERT INTO question (community_id, platform_message_id, asker_member_id, channel_id, \
             asked_at, deleted, accepted_answer_id, answer_count, record, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (community_id, platform_message_id) DO UPDATE SET \
             deleted = excluded.deleted, accepted_answer_id = excluded.accepted_answer_id, \
             answer_count = excluded.answer_count, record = excluded.record, \
             updated_at = excluded.updated_at",
        )
        .bind(community_id)
        .bind(&q.platform_message_id)
        .bind(&q.asker_member_id)
        .bind(&q.channel_id)
        .bind(q.asked_at)
        .bind(i64::from(q.deleted))
        .bind(&q.accepted_answer_id)
        .bind(i64::try_from(live).unwrap_or(i64::MAX))
        .bind(&q.record)
        .bind(self.now_ms())
        .execute(&mut *self.tx)
        .await?;
        for a in &q.answers {
            sqlx::query(
                "INSERT INTO answer (community_id, platform_message_id, question_message_id, \
                 author_member_id, posted_at, deleted, accepted) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (community_id, platform_message_id) DO UPDATE SET \
                 deleted = excluded.deleted, accepted = excluded.accepted",
            )
            .bind(community_id)
            .bind(&a.platform_message_id)
            .bind(&a.question_message_id)
            .bind(&a.author_member_id)
            .bind(a.posted_at)
            .bind(i64::from(a.deleted))
            .bind(i64::from(a.accepted))
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Questions not deleted, oldest first (by time asked, then id), at most `limit`.
    pub async fn questions(
        &mut self,
        filter: QuestionFilter,
        limit: i64,
    ) -> Result<Vec<QuestionRow>> {
        let community_id = &self.community_id.clone();
        let accepted = match filter {
            QuestionFilter::Unanswered => " AND accepted_answer_id IS NULL",
            QuestionFilter::Answered => " AND accepted_answer_id IS NOT NULL",
            QuestionFilter::All => "",
        };
        let rows = sqlx::query(&format!(
            "SELECT {QUESTION_COLUMNS} FROM question WHERE community_id = $1 AND deleted = 0\
             {accepted} ORDER BY asked_at, platform_message_id LIMIT $2"
        ))
        .bind(community_id)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(question_row).collect()
    }

    /// One question (deleted ones too).
    pub async fn question(&mut self, platform_message_id: &str) -> Result<Option<QuestionRow>> {
        let community_id = &self.community_id.clone();
        let row = sqlx::query(&format!(
            "SELECT {QUESTION_COLUMNS} FROM question WHERE community_id = $1 \
             AND platform_message_id = $2 AND deleted = 0"
        ))
        .bind(community_id)
        .bind(platform_message_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(question_row).transpose()
    }

    /// The live answers of a question, oldest first.
    pub async fn answers(&mut self, question_message_id: &str) -> Result<Vec<AnswerRow>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT platform_message_id, question_message_id, author_member_id, posted_at, \
             deleted, accepted FROM answer WHERE community_id = $1 AND question_message_id = $2 \
             AND deleted = 0 ORDER BY posted_at, platform_message_id",
        )
        .bind(community_id)
        .bind(question_message_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AnswerRow {
                    platform_message_id: r.try_get("platform_message_id")?,
                    question_message_id: r.try_get("question_message_id")?,
                    author_member_id: r.try_get("author_member_id")?,
                    posted_at: r.try_get("posted_at")?,
                    deleted: r.try_get::<i64, _>("deleted")? != 0,
                    accepted: r.try_get::<i64, _>("accepted")? != 0,
                })
            })
            .collect()
    }

    /// The decrypted text of one message (`None`: unknown, or its key was destroyed).
    pub async fn message_text(&mut self, platform_message_id: &str) -> Result<Option<String>> {
        let community_id = &self.community_id.clone();
        let row = sqlx::query(
            "SELECT id, author_member_id, text_enc FROM message WHERE community_id = $1 \
             AND platform_message_id = $2",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let id: String = r.try_get("id")?;
        let author: Option<String> = r.try_get("author_member_id")?;
        let key = self
            .sealing_key(community_id, author.as_deref(), false)
            .await?;
        Ok(match key {
            Some(k) => crate::open_opt(&k, &r, community_id, "message", "text_enc", &id)?,
            None => None,
        })
    }
}
