//! Questions and answers outside the engine: the stored form of the engine's question records,
//! accepting an answer (dashboard, chat button, command) as an [`AnswerAccepted`] event in the
//! inbox, and the read model of the questions list (dashboard, API, `questions` command).
//!
//! An accept is checked here first (the question exists, the reply is one of its answers, the
//! acting member is the asker or an Instructor/Admin), so a form gets a clear refusal; the
//! engine checks again when it processes the event, so `ledger replay` reproduces the reward.

use chrono::{DateTime, Utc};
use classcred_engine::{AnswerAccepted, Event, MemberId, QuestionRecord};
use classcred_store::audit::AuditRecord;
use classcred_store::recognition::{AnswerRow, QuestionFilter, QuestionUpsert};
use classcred_store::{CommunityId, MemberRowId, Role, Store};
use serde::Serialize;
use serde_json::json;

use crate::changes::{Change, ChangeError, CHANGE_PLATFORM};
use crate::dashboard::{MemberRef, Roster};
use crate::{drain, ingest, Result};

/// Most questions one list shows.
pub const MAX_LISTED: i64 = 500;

/// The audit action of a staff read of the questions (their texts are students' messages).
pub const QUESTIONS_READ_ACTION: &str = "questions.read";

/// The rows to write for an engine question record.
pub(crate) fn upsert(q: &QuestionRecord) -> Result<QuestionUpsert> {
    let asker = MemberRowId::parse(q.asker.as_str())?;
    let answers = q
        .answers
        .iter()
        .map(|a| {
            Ok(AnswerRow {
                platform_message_id: a.platform_message_id.clone(),
                question_message_id: q.platform_message_id.clone(),
                author_member_id: MemberRowId::parse(a.author.as_str())?,
                posted_at: a.posted_at.timestamp_millis(),
                deleted: a.deleted,
                accepted: q.accepted.as_deref() == Some(a.platform_message_id.as_str()),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(QuestionUpsert {
        platform_message_id: q.platform_message_id.clone(),
        asker_member_id: asker,
        channel_id: q.channel.clone(),
        asked_at: q.asked_at.timestamp_millis(),
        deleted: q.deleted,
        accepted_answer_id: q.accepted.clone(),
        record: serde_json::to_string(q)?,
        answers,
    })
}

/// Accept `answer` to `question` as member `by` (the asker, or an Instructor/Admin), from the
/// dashboard. Stored as an event and processed before this returns (normally).
pub async fn accept_answer(
    store: &Store,
    community_id: &CommunityId,
    by: &MemberRowId,
    question: &str,
    answer: &str,
    now: DateTime<Utc>,
) -> std::result::Result<Change, ChangeError> {
    let invalid = |message: &str| ChangeError::Invalid {
        field: "answer".into(),
        message: message.into(),
    };
    let mut tx = store.begin().await?;
    tx.community(community_id).await?;
    let mut scoped = tx.for_community(community_id);
    let (role, _) = scoped
        .member_role_kind(by)
        .await?
        .ok_or(ChangeError::NotFound)?;
    let q = scoped
        .question(question)
        .await?
        .ok_or_else(|| invalid("No such question (it may have been deleted)."))?;
    if role == Role::Student && &q.asker_member_id != by {
        return Err(ChangeError::Forbidden);
    }
    if !scoped
        .answers(question)
        .await?
        .iter()
        .any(|a| a.platform_message_id == answer)
    {
        return Err(invalid("That reply is not an answer to this question."));
    }
    if q.accepted_answer_id.as_deref() == Some(answer) {
        tx.rollback().await?;
        return Ok(Change {
            event_id: None,
            applied: true,
        });
    }
    let platform_user = scoped
        .platform_user_id(by)
        .await?
        .ok_or(ChangeError::NotFound)?;
    let event_id = format!("accept:{}", uuid::Uuid::now_v7());
    let event = Event::AnswerAccepted(AnswerAccepted {
        question: question.to_string(),
        answer: answer.to_string(),
        by: MemberId::new(platform_user),
        occurred_at: now,
    });
    ingest(&mut tx, community_id, CHANGE_PLATFORM, &event_id, &event).await?;
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: format!("member:{by}"),
        action: "question.accept".into(),
        subject: None,
        details: json!({ "event_id": event_id }),
    })
    .await?;
    tx.commit().await?;
    if let Err(e) = drain(store, community_id).await {
        tracing::warn!(community_id = %community_id, error = %e, "accept stored; processing it now failed, a worker retries");
    }
    let mut tx = store.begin().await?;
    let applied = tx
        .for_community(community_id)
        .question(question)
        .await?
        .is_some_and(|q| q.accepted_answer_id.as_deref() == Some(answer));
    tx.rollback().await?;
    Ok(Change {
        event_id: Some(event_id),
        applied,
    })
}

/// One question as the dashboard, the API and the `questions` command list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuestionView {
    pub question_id: String,
    pub asker: MemberRef,
    pub channel_id: Option<String>,
    pub asked_at: DateTime<Utc>,
    /// Whole minutes since it was asked (at the time of the read).
    pub age_minutes: i64,
    pub answer_count: i64,
    pub accepted_answer_id: Option<String>,
    /// The question's text (decrypted), when `with_text` was asked and the key is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The answers (when the texts were asked for).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<AnswerView>,
}

/// One answer of a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerView {
    pub answer_id: String,
    pub author: MemberRef,
    pub posted_at: DateTime<Utc>,
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Questions, oldest first. With `with_text` (the staff member reading), each with its text
/// and its answers (with theirs): one audited read, since the texts are students' messages.
pub async fn list_questions(
    store: &Store,
    community_id: &CommunityId,
    filter: QuestionFilter,
    with_text: Option<&MemberRowId>,
    now: DateTime<Utc>,
) -> Result<Vec<QuestionView>> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let roster = Roster::load(&mut scoped).await?;
    let rows = scoped.questions(filter, MAX_LISTED).await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut answers_read = 0;
    for r in rows {
        let (text, answers) = match with_text {
            Some(_) => {
                let mut answers = Vec::new();
                for a in scoped.answers(&r.platform_message_id).await? {
                    answers.push(AnswerView {
                        text: scoped.message_text(&a.platform_message_id).await?,
                        author: roster.reference(&a.author_member_id),
                        posted_at: at(a.posted_at),
                        accepted: a.accepted,
                        answer_id: a.platform_message_id,
                    });
                }
                answers_read += answers.len();
                (scoped.message_text(&r.platform_message_id).await?, answers)
            }
            None => (None, Vec::new()),
        };
        let asked_at = at(r.asked_at);
        out.push(QuestionView {
            asker: roster.reference(&r.asker_member_id),
            age_minutes: (now - asked_at).num_minutes().max(0),
            question_id: r.platform_message_id,
            channel_id: r.channel_id,
            asked_at,
            answer_count: r.answer_count,
            accepted_answer_id: r.accepted_answer_id,
            text,
            answers,
        });
    }
    if let Some(reader) = with_text {
        if !out.is_empty() {
            tx.audit(&AuditRecord {
                community_id: Some(community_id.clone()),
                actor: format!("member:{reader}"),
                action: QUESTIONS_READ_ACTION.into(),
                subject: None,
                details: json!({ "questions": out.len(), "answers": answers_read }),
            })
            .await?;
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// One question with its answers and texts, read by `reader` (audited). `None`: no such
/// question (or deleted).
pub async fn question_detail(
    store: &Store,
    community_id: &CommunityId,
    question: &str,
    reader: &MemberRowId,
    now: DateTime<Utc>,
) -> Result<Option<QuestionView>> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let Some(r) = scoped.question(question).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let roster = Roster::load(&mut scoped).await?;
    let text = scoped.message_text(question).await?;
    let mut answers = Vec::new();
    for a in scoped.answers(question).await? {
        answers.push(AnswerView {
            text: scoped.message_text(&a.platform_message_id).await?,
            author: roster.reference(&a.author_member_id),
            posted_at: at(a.posted_at),
            accepted: a.accepted,
            answer_id: a.platform_message_id,
        });
    }
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: format!("member:{reader}"),
        action: QUESTIONS_READ_ACTION.into(),
        subject: None,
        details: json!({ "questions": 1, "answers": answers.len() }),
    })
    .await?;
    tx.commit().await?;
    let asked_at = at(r.asked_at);
    Ok(Some(QuestionView {
        asker: roster.reference(&r.asker_member_id),
        age_minutes: (now - asked_at).num_minutes().max(0),
        question_id: r.platform_message_id,
        channel_id: r.channel_id,
        asked_at,
        answer_count: r.answer_count,
        accepted_answer_id: r.accepted_answer_id,
        text,
        answers,
    }))
}
